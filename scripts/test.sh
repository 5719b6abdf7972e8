#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: in a normal
# build with warnings as errors, and in an AddressSanitizer + UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

# Backends whose library install-deps.sh installs are required: a missing
# one fails the configure instead of dropping its tests.
required=(-DNNB_BACKEND_ONEDNN=ON)

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
