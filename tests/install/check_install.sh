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
"$prefix/bin/cloister" --version
echo "install check passed: $prefix"
