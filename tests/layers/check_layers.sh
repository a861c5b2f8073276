#!/usr/bin/env bash
# The build refuses an upward include. Every layer compiles against its own include root
# (build/layers/<layer>/, cmake/Cloister.cmake), so for every pair of layers this asks the
# compiler, from one layer's root, whether it can find a header of another layer that is not
# below it (a public header and an internal one): it must not. (Includes of layers below are what
# the build itself compiles.) Usage: check_layers.sh CC LAYER_ROOT
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

declare -A reps
for layer in "${order[@]}"; do reps[$layer]=$(representatives "$layer"); done

# One preprocessor run per layer: __has_include says whether the compiler would find a header
# from that layer's root, without stopping at the first missing one.
checked=0 failed=0
for low in "${order[@]}"; do
    for high in "${order[@]}"; do
        [ "$low" != "$high" ] || continue
        case ${closure[$low]} in *" $high "*) continue ;; esac
        for inc in ${reps[$high]}; do
            checked=$((checked + 1))
            printf '#if __has_include(%s)\n#error layer %s can reach %s of layer %s\n#endif\n' \
                "$inc" "$low" "${inc//\"/}" "$high"
        done
    done >"$work/probe.c"
    if ! "$cc" -std=c17 -E -I"$root/$low" "$work/probe.c" >/dev/null 2>"$work/err"; then
        grep 'error: #error' "$work/err" | grep -o 'layer .* of layer .*' | sed 's/^/FAIL: /'
        failed=$((failed + $(grep -c 'error: #error' "$work/err" || true)))
    fi
done
echo "check_layers: $checked upward includes across ${#order[@]} layers, $failed reachable"
[ "$failed" -eq 0 ]
