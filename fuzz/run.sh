#!/usr/bin/env bash
# Runs every fuzz_* target in BUILD/fuzz for SECONDS each, seeded from fuzz/corpus/<name>/.
# A crash, leak or timeout fails the run and leaves the reproducer in build/fuzz/findings/.
set -euo pipefail
build=$1 seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
findings=$build/findings
mkdir -p "$findings"
status=0
for exe in "$build"/fuzz/fuzz_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe"); name=${name#fuzz_}
  work=$build/corpus/$name
  mkdir -p "$work"
  seeds=()
  [ -d "$root/fuzz/corpus/$name" ] && seeds+=("$root/fuzz/corpus/$name")
  echo "== fuzz $name for ${seconds}s =="
  if ! "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings/$name-" "$work" "${seeds[@]}" >"$build/$name.log" 2>&1; then
    echo "fuzz $name: FINDING, see $build/$name.log and $findings/"; status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$build/$name.log" | tail -2
  fi
done
exit $status
