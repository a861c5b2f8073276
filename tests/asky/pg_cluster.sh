#!/bin/sh
# pg_cluster.sh start|stop DIR -- a throwaway PostgreSQL cluster for A-Sky's tests: initdb and
# pg_ctl in DIR, listening only on a Unix socket in DIR (no TCP), trust authentication for the
# role "asky", database "asky" (conninfo "host=DIR user=asky dbname=asky"). DIR must be one
# the unprivileged user can reach (under /tmp). PostgreSQL refuses to run as root: as root, DIR is handed to
# the unprivileged user nobody and the cluster runs as it. Exit 77: no PostgreSQL installed.
set -eu
cmd=$1 dir=$2
ctl=$(command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1) || exit 77
bin=$(dirname "$(readlink -f "$ctl")")
[ -x "$bin/pg_ctl" ] && [ -x "$bin/initdb" ] || exit 77
as() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else "$@"; fi
}
case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$dir"
  as "$bin/initdb" -D "$dir/data" -U asky --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
  as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-k $dir -c listen_addresses= -F -c max_connections=20 -c shared_buffers=16MB" \
    start >/dev/null
  as "$bin/createdb" -h "$dir" -U asky asky
  ;;
stop)
  as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  ;;
esac
