#!/bin/sh
# s3rver.sh start|stop DIR -- a throwaway S3-compatible server (the npm package s3rver, pinned in
# tools/s3rver/package-lock.json) for A-Sky's S3 object store test: data in DIR, listening on
# 127.0.0.1 on a free port, which `start` prints; `stop` ends it. Its access key and secret are
# s3rver's fixed test pair S3RVER/S3RVER. The package is installed with `npm ci` on first use.
# Exit 77 (ctest: skipped), with the reason on stderr: no node/npm, or npm cannot install it.
set -eu
cmd=$1 dir=$2
tools=$(cd "$(dirname "$0")/../../tools/s3rver" && pwd)
case $cmd in
start)
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "skipped: node/npm not found (install nodejs and npm to test the S3 object store)" >&2
    exit 77
  fi
  exec 9<"$tools"
  flock 9 # build trees share node_modules: installs take turns
  if [ ! -f "$tools/node_modules/.package-lock.json" ] ||
     [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
    if ! (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2); then
      echo "skipped: npm ci of s3rver failed (is the npm registry reachable?)" >&2
      exit 77
    fi
  fi
  flock -u 9
  mkdir -p "$dir/data"
  node "$tools/node_modules/s3rver/bin/s3rver.js" -d "$dir/data" -a 127.0.0.1 -p 0 \
    >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 100); do
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$dir/server.log" | head -1)
    [ -n "$port" ] && { echo "$port"; exit 0; }
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "s3rver did not start:" >&2
  cat "$dir/server.log" >&2
  kill "$(cat "$dir/pid")" 2>/dev/null || true
  exit 1
  ;;
stop)
  [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
  ;;
esac
