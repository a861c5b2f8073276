#!/usr/bin/env bash
# Redraws the figures the docs show (docs/img/epc.png, scbr_match.png, ibbe.png) from a Release
# build: runs those three benchmarks at the sizes below (3 to 7 minutes on 2 shared cores, where
# `make bench` at full sizes takes far longer) and draws each plot of bench/plots/ with gnuplot's
# palette PNG terminal, so that the files committed stay small (tens of KB).
#   make release && bench/doc-figures.sh build/release
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
export CLOISTER_EPC_BENCH_SECONDS=0.1
export SCBR_BENCH_MAX=1000000 SCBR_BENCH_SECONDS=0.2 SCBR_BENCH_CAP_S=5
export IBBE_BENCH_MAX_N=100000 IBBE_BENCH_MAX_HE_N=10000
out=$build/bench-results
plot=$(mktemp)
trap 'rm -f "$plot"' EXIT
for name in epc scbr_match ibbe; do
  BENCH_ONLY=$name bash "$root/bench/run.sh" "$build" >/dev/null
  sed -E 's/^set terminal pngcairo( noenhanced)? size ([0-9]+),([0-9]+) font ",10"( noenhanced)?/set terminal png noenhanced size \2,\3 font ",9"/' \
    "$root/bench/plots/$name.gp" >"$plot"
  gnuplot -e "csv='$out/$name.csv'; png='$root/docs/img/$name.png'; outdir='$out'" "$plot" 2>/dev/null
  echo "docs/img/$name.png ($(stat -c %s "$root/docs/img/$name.png") bytes) from $out/$name.csv"
done
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
