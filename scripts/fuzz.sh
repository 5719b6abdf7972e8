#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan + UBSan),
# replays each target's seed corpus and regression inputs, then fuzzes each
# target for SECONDS (default 15). Fails on the first crash, leak, timeout or
# sanitizer report; the input that caused it is left in build/fuzz/artifacts/.
#   scripts/fuzz.sh [SECONDS [TARGET...]]      (fuzz/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-15}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    [ "$t" = fuzz_util ] || targets+=("$t")
  done
fi

echo "== fuzz: configure and build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)"

# Absolute paths: a target may work in its own folder (fuzz_cli does).
bin=$PWD/build/fuzz/fuzz
art=$PWD/build/fuzz/artifacts
mkdir -p "$art"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -close_fd_mask=2: the commands' own messages are dropped, libFuzzer's and
# the sanitizers' reports are kept.
opts=(-close_fd_mask=2 -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=2048)

for t in "${targets[@]}"; do
  inputs=("$PWD/fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && inputs+=("$PWD/fuzz/regressions/$t")
  echo "== $t: replay ${inputs[*]}"
  "$bin/$t" "${opts[@]}" -runs=0 "${inputs[@]}" 2>&1 | grep -E "INITED|ERROR|SUMMARY" || true
  "$bin/$t" "${opts[@]}" -runs=0 "${inputs[@]}" >/dev/null 2>&1 || {
    echo "fuzz: $t fails on its own corpus (rerun: $bin/$t ${inputs[*]})" >&2
    exit 1
  }
  if [ "$secs" -gt 0 ]; then
    echo "== $t: fuzz for ${secs}s"
    mkdir -p "$work/$t"
    "$bin/$t" "${opts[@]}" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$art/$t-" "$work/$t" "${inputs[@]}" 2>"$work/$t.log" || {
      tail -60 "$work/$t.log" >&2
      echo "fuzz: $t found a failure; the input is in $art/ (add it to fuzz/regressions/$t/ once fixed)" >&2
      exit 1
    }
    grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added" "$work/$t.log" || true
  fi
done
if [ "$secs" -gt 0 ]; then
  echo "fuzz: ${#targets[@]} targets replayed clean and fuzzed ${secs}s each"
else
  echo "fuzz: ${#targets[@]} targets replayed clean"
fi
