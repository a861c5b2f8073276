#!/usr/bin/env bash
# `cloister epc`: the bench table, its JSON (no faults below the budget, three accesses in
# four faulting at 4x), info, usage errors that exit 2 with one line naming the mistake, and
# `enclave sign --epc` putting the budget into the signed config.
set -uo pipefail
bin=$1 image=$2
fail=0
expect() { # expect CODE PATTERN -- command...
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: '$*' exited $rc (want $code), output: $out"; fail=1
  fi
}
expect 0 'cost per fault' -- "$bin" epc bench --epc 1 --ms 20
expect 0 'pager sigsegv' -- env CLOISTER_EPC_PAGER=sigsegv "$bin" epc bench --epc 1 --ms 20
expect 0 '"faults_per_access"' -- "$bin" epc bench --epc 1 --ms 20 --pattern sequential --json
expect 0 'userfaultfd paging' -- "$bin" epc info
expect 0 '"max_map_count"' -- "$bin" epc info --json
expect 2 "--epc expects a budget in MiB" -- "$bin" epc bench --epc lots
expect 2 "--epc expects a budget in MiB" -- "$bin" epc bench --epc unlimited
expect 2 "--pager must be auto, uffd or sigsegv" -- "$bin" epc bench --pager kernel
expect 2 "--pattern must be random or sequential" -- "$bin" epc bench --pattern zigzag
expect 2 "--ms must be between" -- "$bin" epc bench --ms 1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$image" "$work/probe.enclave"
expect 0 'key' -- "$bin" enclave keygen --out "$work/k.key"
expect 0 'epc_budget = 12.5 MiB' -- "$bin" enclave sign "$work/probe.enclave" --key "$work/k.key" --epc 12.5
expect 0 '"epc_budget": "unlimited"' -- "$bin" enclave sign "$work/probe.enclave" --key "$work/k.key" --epc unlimited --json
expect 2 "--epc expects a budget in MiB" -- "$bin" enclave sign "$work/probe.enclave" --key "$work/k.key" --epc 0
# Below the budget nothing faults; at 4x three accesses in four do.
json=$("$bin" epc bench --epc 1 --ms 50 --json)
below=$(grep -A3 '"ratio": 0.5' <<<"$json" | grep -oE '"faults_per_access": [0-9.e+-]+' | awk '{print $2}')
above=$(grep -A3 '"ratio": 4' <<<"$json" | grep -oE '"faults_per_access": [0-9.e+-]+' | awk '{print $2}')
if ! awk -v b="$below" -v a="$above" 'BEGIN { exit !(b == 0 && a > 0.7 && a < 0.8) }'; then
  echo "FAIL: faults per access below/above the budget: '$below' / '$above'"; fail=1
fi
[ $fail -eq 0 ] && echo "epc cli: ok"
exit $fail
