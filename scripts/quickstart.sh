#!/usr/bin/env bash
# Installs what is missing, builds a release nnbench, and runs the default
# job on every available backend: conformance, then suites/quick.ini.
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
echo "== benchmark suite suites/quick.ini"
results=$("$nnbench" run suites/quick.ini)
echo "results: $results/results.json and $results/results.csv"
echo "== plots and report"
"$nnbench" plot "$results" >/dev/null
report=$("$nnbench" report "$results" --no-plots | sed -n 1p)
echo "plots: $results/plots/"
echo "report: $report (and ${report%.md}.html, self-contained)"
