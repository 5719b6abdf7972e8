#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: in a normal
# build with warnings as errors, and in an AddressSanitizer + UBSan build;
# then builds the fuzz targets, replays their corpora and fuzzes each for a
# short while (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

# Backends (and MPI) whose library install-deps.sh installs are required: a
# missing one fails the configure instead of dropping its tests.
required=(-DNNB_BACKEND_ONEDNN=ON -DNNB_BACKEND_VULKAN=ON -DNNB_MPI=ON)

# CI expects Vulkan: the vulkan backend is built (configure fails without
# it) and its tests run on lavapipe, pinned so that no other driver is
# picked and a missing one fails the tests rather than skipping them.
lvp=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -n 1 || true)
if [ -z "$lvp" ]; then
  echo "test.sh: lavapipe's ICD (mesa-vulkan-drivers) is missing" >&2
  exit 1
fi
export VK_ICD_FILENAMES="$lvp" VK_DRIVER_FILES="$lvp"

for preset in dev asan; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" "${required[@]}" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: tests"
  ctest --preset "$preset" -j "$jobs"
done

echo "== release: build (optimiser-only warnings are errors too)"
cmake --preset release "${required[@]}" >/dev/null
cmake --build --preset release -j "$jobs"

echo "== reference conformance (nnbench check --backend reference)"
./build/dev/nnbench check --backend reference

echo "== onednn conformance (nnbench check --backend onednn)"
./build/dev/nnbench check --backend onednn

echo "== vulkan conformance on lavapipe (nnbench check --backend vulkan)"
./build/dev/nnbench check --backend vulkan

echo "== fuzz: replay the corpora, then 15 s per target"
bash scripts/fuzz.sh 15
