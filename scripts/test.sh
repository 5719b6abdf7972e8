#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: in a normal
# build with warnings as errors, and in an AddressSanitizer + UBSan build;
# then builds the fuzz targets, replays their corpora and fuzzes each for a
# short while (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

for preset in dev asan; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: tests"
  ctest --preset "$preset" -j "$jobs"
done

echo "== release: build (optimiser-only warnings are errors too)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"

echo "== reference conformance (nnbench check --backend reference)"
./build/dev/nnbench check --backend reference

echo "== fuzz: replay the corpora, then 15 s per target"
bash scripts/fuzz.sh 15
