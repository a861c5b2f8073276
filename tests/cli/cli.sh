#!/usr/bin/env bash
# The CLI's contract: help and version exit 0, usage errors exit 2 with one line naming the
# mistake on stderr (and the nearest name when a system, verb or option is mistyped), and every
# system, verb and sub-verb answers --help with a description and at least one example. The
# verbs are taken from the binary's own listings, so a new verb is covered without editing this.
set -uo pipefail
bin=$1
fail=0
expect() { # expect CODE PATTERN -- command...
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: '$*' exited $rc (want $code), output: $out"; fail=1
  fi
}
expect 0 'usage: cloister <system>' -- "$bin" --help
expect 2 'usage: cloister <system>' -- "$bin"
expect 0 '^cloister [0-9]+\.[0-9]+\.[0-9]+$' -- "$bin" --version
expect 2 "unknown system 'nosuch'" -- "$bin" nosuch
expect 0 'usage: cloister demo' -- "$bin" demo --help
expect 2 "unknown option '--bogus'" -- "$bin" demo --bogus
expect 0 'usage: cloister reproduce' -- "$bin" reproduce --help
expect 0 'CLOISTER_HOME' -- "$bin" --help
expect 2 "unknown system 'scrb'; did you mean 'scbr'\?" -- "$bin" scrb
expect 2 "unknown verb 'subscibe'; did you mean 'subscribe'\?" -- "$bin" scbr subscibe
expect 2 "unknown option '--seeed'; did you mean '--seed'\?" -- "$bin" scbr gen --seeed 1 --out x
expect 2 "unknown option '--ot=x'; did you mean '--out'\?" -- "$bin" scbr gen --ot=x
expect 2 "unknown sub-verb 'crate'; did you mean 'create'\?" -- "$bin" ibbe group crate
expect 2 "--out given twice" -- "$bin" scbr gen --out a --out=b
expect 2 "CLOISTER_LOG must be debug, info, warn, error or off, got 'verbose'" -- \
  env CLOISTER_LOG=verbose "$bin" crypto selftest
expect 0 "passed|ok" -- env CLOISTER_LOG=info "$bin" crypto selftest
# One endpoint syntax: IP:PORT everywhere, tcp://IP:PORT accepted, anything else named.
expect 2 "--connect: expected IP:PORT" -- "$bin" scbr stats --connect localhost
expect 2 "--connect: expected IP:PORT" -- "$bin" scbr stats --connect 127.0.0.1:70000
expect 2 "--listen: expected IP:PORT" -- "$bin" ibbe serve --store s --listen 127.0.0.1 --token-file t
expect 1 "token|store" -- "$bin" ibbe serve --store /nonexistent/s --listen tcp://127.0.0.1:0 \
  --token-file /nonexistent/t

# Long work says it started: scbr match --progress prints the sizes and the total on stderr,
# stdout unchanged; without it (and stderr not a terminal) stderr stays empty.
work=$(mktemp -d)
"$bin" scbr gen --subs 50 --pubs 20 --out "$work" >/dev/null
"$bin" scbr match --subs "$work/subs.txt" --pubs "$work/pubs.txt" --index naive >"$work/a" 2>"$work/a.err"
"$bin" scbr match --subs "$work/subs.txt" --pubs "$work/pubs.txt" --index naive --progress \
  >"$work/b" 2>"$work/b.err"
if ! cmp -s "$work/a" "$work/b" || [ -s "$work/a.err" ] ||
  ! grep -q "20 publications against 50 subscriptions, naive index" "$work/b.err" ||
  ! grep -q "20 publications matched in" "$work/b.err"; then
  echo "FAIL: scbr match --progress: $(cat "$work/a.err" "$work/b.err")"; fail=1
fi
rm -rf "$work"

# A verb's help: "usage:" line, summary, a description paragraph, options, then "examples:"
# with at least one "cloister ..." line.
check_help() { # check_help WORDS...
  local out
  out=$("$bin" "$@" --help 2>&1)
  if ! awk 'NR==3&&NF{s=1} NR>3&&/^options:/{exit} NR>4&&NF&&s{d=1} END{exit !d}' <<<"$out"; then
    echo "FAIL: 'cloister $* --help' has no description after its summary"; fail=1
  fi
  if ! awk '/^examples:/{on=1;next} on&&/^  (.*\| *)?([A-Z_]+=[^ ]+ )*cloister /{ok=1} END{exit !ok}' <<<"$out"; then
    echo "FAIL: 'cloister $* --help' has no example"; fail=1
  fi
}
check_help demo
check_help reproduce
systems=$("$bin" --help | awk '/^systems:/{on=1;next} on&&!NF{exit} on{print $1}' |
  grep -Ev '^(demo|reproduce)$')
for s in $systems; do
  expect 0 "usage: cloister $s <verb>" -- "$bin" "$s" --help
  expect 2 "unknown verb 'nosuch'" -- "$bin" "$s" nosuch
  verbs=$("$bin" "$s" --help | awk '/^verbs:/{on=1;next} on&&!NF{exit} on{print $1}')
  for v in $verbs; do
    expect 0 "usage: cloister $s $v" -- "$bin" "$s" "$v" --help
    subs=$("$bin" "$s" "$v" --help | awk '/^sub-verbs:/{on=1;next} on&&!NF{exit} on{print $1}')
    if [ -z "$subs" ]; then
      check_help "$s" "$v"
    fi
    for u in $subs; do
      expect 0 "usage: cloister $s $v $u" -- "$bin" "$s" "$v" "$u" --help
      check_help "$s" "$v" "$u"
    done
  done
done
[ $fail -eq 0 ] && echo "cli contract: ok"
exit $fail
