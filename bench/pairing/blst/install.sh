#!/usr/bin/env bash
# Installs @chainsafe/blst (pinned in package-lock.json) into node_modules/ with `npm ci` when it
# is missing or the lock changed; bench/run.sh calls it before bench_pairing, which then times
# blst_bench.mjs next to cloister. Never part of the build: without node, npm or the registry it
# says so and bench_pairing prints no blst figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "blst: node not found, bench_pairing runs without the blst comparison" >&2
  exit 0
fi
exec 9<"$here"
flock 9
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "blst: npm ci failed (registry unreachable?), no blst comparison" >&2
fi
