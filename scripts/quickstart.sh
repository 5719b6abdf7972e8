#!/usr/bin/env bash
# Installs what is missing, builds a release nnbench, and runs the default
# job on every available backend: conformance, one epoch of training per
# model (the weights the accuracy section compares), then suites/quick.ini.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)"

nnbench=./build/release/nnbench
"$nnbench" --version
echo "== backends"
"$nnbench" list backends
echo "== conformance of every available backend against the reference"
"$nnbench" check

# Trained weights make the accuracy section meaningful: one epoch per model
# on the fastest CPU backend here (the reference only on a subset: it is slow).
ckpt=results/checkpoints/quick
trainer=(--backend reference --limit 4000)
if "$nnbench" list backends | grep -E '^openblas +plugin +available' >/dev/null; then trainer=(--backend openblas); fi
for m in mlp cnn lstm transformer; do
  if [ ! -f "$ckpt/$m.safetensors" ]; then
    echo "== training $m for the accuracy section (${trainer[*]})"
    "$nnbench" train --model "$m" "${trainer[@]}" --epochs 1 --out "$ckpt/$m.safetensors"
  fi
done

echo "== benchmark suite suites/quick.ini"
results=$("$nnbench" run suites/quick.ini --weights "$ckpt")
echo "results: $results/results.json and $results/results.csv"
echo "== plots and report"
"$nnbench" plot "$results" >/dev/null
report=$("$nnbench" report "$results" --no-plots | sed -n 1p)
echo "plots: $results/plots/"
echo "report: $report (and ${report%.md}.html, self-contained)"
