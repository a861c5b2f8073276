#!/usr/bin/env bash
# Runs every bench_* executable of BUILD, stores its CSV under BUILD/bench-results/ and, when
# bench/plots/<name>.gp exists, draws BUILD/bench-results/<name>.png with gnuplot.
# BENCH_ONLY=name restricts the run to one benchmark (study: the memory-protection study alone).
# The benchmarks are built first (a Release `all` leaves them out: bench/CMakeLists.txt).
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
out=$build/bench-results
mkdir -p "$out"
if [ "${BENCH_ONLY:-}" = study ]; then
  cmake --build "$build" -j "$(nproc)" --target cloister >/dev/null
elif [ -n "${BENCH_ONLY:-}" ]; then
  cmake --build "$build" -j "$(nproc)" --target "bench_$BENCH_ONLY" >/dev/null
else
  cmake --build "$build" -j "$(nproc)" --target benches >/dev/null
fi
# bench_pairing times blst (@chainsafe/blst, from npm) in the same run when it can be installed.
if [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = pairing ]; then
  "$root/bench/pairing/blst/install.sh" || true
fi
for exe in "$build"/bench/bench_* "$build"/bench/*/bench_*; do
  [ -x "$exe" ] && [ -f "$exe" ] || continue
  name=$(basename "$exe"); name=${name#bench_}
  [ -n "${BENCH_ONLY:-}" ] && [ "$BENCH_ONLY" != "$name" ] && continue
  echo "== bench $name =="
  "$exe" "$out" | tee "$out/$name.csv"
  if [ -f "$root/bench/plots/$name.gp" ]; then
    gnuplot -e "csv='$out/$name.csv'; png='$out/$name.png'; outdir='$out'" \
      "$root/bench/plots/$name.gp" && echo "plot: $out/$name.png"
  fi
done
# The memory-protection study (docs/study.md): its own CSV, PNG and summary under study/.
if { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = study ]; } && [ -x "$build/src/cli/cloister" ]; then
  echo "== study memory-protection =="
  CLOISTER_HOME="$out/study-home" "$build/src/cli/cloister" study memory-protection \
    --out "$out/study" && cat "$out/study/summary.txt"
fi
echo "results in $out"
