#!/usr/bin/env bash
# Runs interop.mjs (cloister's HPKE against @hpke/core) with a built `cloister` binary:
#   tools/hpke-interop/run.sh BUILD/src/cli/cloister
# Installs the packages pinned in package-lock.json into node_modules/ with `npm ci` when they
# are missing or the lock changed. Exits 77, which ctest reports as skipped, when node or npm is
# absent or the npm registry cannot be reached.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "skipped: node not found (install nodejs and npm to run the HPKE interop check)"
  exit 77
fi

# Two build trees may run this at once: they share node_modules, so installs take turns.
exec 9<"$here"
flock 9
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "skipped: npm ci failed (is the npm registry reachable?)"
    exit 77
  fi
fi
flock -u 9

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/interop.mjs" "$bin" "$work"
