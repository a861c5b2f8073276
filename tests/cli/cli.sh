#!/usr/bin/env bash
# The CLI's contract: help and version exit 0, usage errors exit 2 with one line naming the
# mistake on stderr, and every system and verb answers --help.
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
systems=$("$bin" --help | awk '/^systems:/{on=1;next} on&&!NF{exit} on{print $1}' | grep -v '^demo$')
for s in $systems; do
  expect 0 "usage: cloister $s <verb>" -- "$bin" "$s" --help
  expect 2 "unknown verb 'nosuch'" -- "$bin" "$s" nosuch
  verbs=$("$bin" "$s" --help | awk '/^verbs:/{on=1;next} on&&!NF{exit} on{print $1}')
  for v in $verbs; do
    expect 0 "usage: cloister $s $v" -- "$bin" "$s" "$v" --help
  done
done
[ $fail -eq 0 ] && echo "cli contract: ok"
exit $fail
