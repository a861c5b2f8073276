#!/usr/bin/env bash
# `make install` delivers what a user links against: install this build into a temporary prefix,
# build examples/seal_file.c with pkg-config alone, and run it against the shared library.
set -euo pipefail
src=$1 build=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/cloister"
test -f "$prefix/include/cloister/wire.h"
test -f "$prefix/include/cloister/version.h"
libdir=$(ls -d "$prefix"/lib*/ | head -1)
test -f "$libdir/libcloister.a"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c17 -Wall -Werror "$src/examples/seal_file.c" $(pkg-config --cflags --libs cloister) \
  -o "$prefix/seal_file"
out=$(LD_LIBRARY_PATH=$libdir "$prefix/seal_file")
test "$out" = "hello from cloister"
# Every layer's public API, from the installed headers and library alone.
cc -std=c17 -Wall -Wextra -Werror "$src/examples/api_tour.c" \
  $(pkg-config --cflags --libs cloister) -o "$prefix/api_tour"
LD_LIBRARY_PATH=$libdir "$prefix/api_tour"
"$prefix/bin/cloister" --version

# The shared library exports the public API and nothing else: every exported symbol is declared
# with CLOISTER_API in an installed header (everything else is built hidden).
api=$(cat "$prefix"/include/cloister/*.h | tr '\n' ' ' | grep -oE 'CLOISTER_API[^;{(]*\(' |
      sed -E 's/\($//; s/.*[^A-Za-z0-9_]//' | sort -u)
exported=$(nm -D --defined-only "$libdir/libcloister.so" | awk '{print $3}' |
           grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' | sort -u)
leaked=$(comm -13 <(echo "$api") <(echo "$exported"))
if [ -n "$leaked" ]; then
    echo "exported from libcloister.so without CLOISTER_API:" $leaked
    exit 1
fi
echo "libcloister.so exports $(echo "$exported" | wc -l) symbols, all CLOISTER_API"
echo "install check passed: $prefix"
