#!/usr/bin/env bash
# The build refuses an upward include. Every layer compiles against its own include root
# (build/layers/<layer>/, cmake/Cloister.cmake), so for every pair of layers this compiles a
# one-line file, in one layer's root, that includes a header of another layer that is not below
# it (a public header and an internal one): each must fail to compile. (Includes of layers below
# are what the build itself compiles.) Usage: check_layers.sh CC LAYER_ROOT
set -euo pipefail
cc=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A own_dirs own_headers closure
order=()
while IFS='|' read -r name dirs headers below; do
    [ -n "$name" ] || continue
    order+=("$name")
    own_dirs[$name]=$dirs own_headers[$name]=$headers closure[$name]=" $below "
done <"$root/manifest"
[ ${#order[@]} -ge 2 ] || { echo "check_layers: fewer than two layers in $root/manifest"; exit 1; }

# The headers that stand for a layer: its first public header and its first internal one.
representatives() {
    local layer=$1 h d first
    for h in ${own_headers[$layer]}; do echo "<cloister/$h>"; break; done
    for d in ${own_dirs[$layer]}; do
        first=$(cd "$root/$layer" && ls "$d"/*.h 2>/dev/null | head -1) || true
        if [ -n "$first" ]; then echo "\"$first\""; break; fi
    done
}

checked=0 failed=0
for low in "${order[@]}"; do
    for high in "${order[@]}"; do
        [ "$low" != "$high" ] || continue
        case ${closure[$low]} in *" $high "*) continue ;; esac
        while read -r inc; do
            [ -n "$inc" ] || continue
            printf '#include %s\n' "$inc" >"$work/probe.c"
            checked=$((checked + 1))
            # Refused means: the compiler could not find that very header.
            name=${inc:1:${#inc}-2}
            if ! "$cc" -std=c17 -D_GNU_SOURCE -fsyntax-only -I"$root/$low" "$work/probe.c" \
                2>"$work/err" && grep -qF "$name: No such file" "$work/err"; then
                continue
            fi
            echo "FAIL: layer $low can reach $inc, a header of layer $high above it"
            failed=$((failed + 1))
        done < <(representatives "$high")
    done
done
echo "check_layers: $checked upward includes across ${#order[@]} layers, $failed reachable"
[ "$failed" -eq 0 ]
