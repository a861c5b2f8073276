#!/usr/bin/env bash
# The docs' commands run, so that a doc cannot drift from the binary: every fenced ```sh block of
# README.md and docs/*.md is run, in order, by one bash (set -euo pipefail) per document, in a
# fresh directory with CLOISTER_HOME a fresh directory too and the built `cloister` first on
# PATH. A block fenced ```sh norun is shown to readers but not run (say why next to it: it
# builds the project, needs root, or runs for long). A document fails on the first command that
# fails; the block and its output are printed. Besides, every `cloister SYSTEM VERB` the docs
# mention anywhere (prose and `a|b` lists included) must be a verb the binary lists.
# Usage: run_docs.sh CLOISTER_BINARY SOURCE_DIR [DOC...]
set -uo pipefail
bin=$(readlink -f "$1")
src=$(readlink -f "$2")
shift 2
docs=("$@")
[ ${#docs[@]} -gt 0 ] || docs=("$src/README.md" "$src"/docs/*.md)
work=$(mktemp -d "${TMPDIR:-/tmp}/cloister-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$bin" "$work/bin/cloister"

# Writes the runnable blocks of $1 as one script: a marker line before each block, so that a
# failure names the block's line in the document.
extract() {
  awk -v doc="$1" '
    /^```sh( |$)/ && !on { on = 1; run = ($0 !~ /norun/); if (run) { n++; printf "echo \"### %s:%d\" >&2\n", doc, NR } next }
    /^```/ && on { on = 0; next }
    on && run { print }
    END { if (n == 0) exit 3 }' "$2"
}

fail=0
known=$("$bin" --help | awk '/^systems:/{on=1;next} on&&!NF{exit} on{print $1}' | grep -Ev '^(demo|reproduce)$')
for s in $known; do
  "$bin" "$s" --help | awk -v s="$s" '/^verbs:/{on=1;next} on&&!NF{exit} on{print s, $1}'
done >"$work/verbs"
while read -r doc sys verbs; do
  for v in ${verbs//|/ }; do
    grep -qx "$sys $v" "$work/verbs" || { echo "FAIL: ${doc#"$src"/} names 'cloister $sys $v', which does not exist"; fail=1; }
  done
done < <(for doc in "${docs[@]}"; do
           re="cloister ($(echo $known | tr ' ' '|')) [a-z][a-z|-]*"
           grep -ohE "$re" "$doc" | sort -u | sed "s|^cloister |$doc |"
         done)

for doc in "${docs[@]}"; do
  name=${doc#"$src"/}
  dir="$work/${name//\//_}"
  mkdir -p "$dir/run" "$dir/home"
  if ! extract "$name" "$doc" >"$dir/script.sh"; then
    echo "$name: no runnable block"
    continue
  fi
  start=$(date +%s)
  (cd "$dir/run" && PATH="$work/bin:$PATH" CLOISTER_HOME="$dir/home" \
     timeout 120 bash -euo pipefail "$dir/script.sh") >"$dir/out" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    block=$(grep '^### ' "$dir/out" | tail -1)
    echo "FAIL: $name: exit $rc in the block at ${block#\#\#\# } (output from that block):"
    awk '/^### /{buf=""} {buf = buf $0 "\n"} END{printf "%s", buf}' "$dir/out" | tail -40
    fail=1
  else
    echo "$name: $(grep -c '^### ' "$dir/out") blocks ran in $(( $(date +%s) - start )) s"
  fi
done
exit $fail
