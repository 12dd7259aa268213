#!/usr/bin/env bash
# Build the instruction-count plugin: fetches qemu-plugin.h first when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build/libtm_icount.so}"
[ -s "$here/include/qemu-plugin.h" ] || "$here/fetch-header.sh" >/dev/null
mkdir -p "$(dirname "$out")"
# Link to a private name, then rename: a concurrent QEMU never loads a half-written file.
tmp="$(dirname "$out")/.$(basename "$out").$$.tmp"
trap 'rm -f "$tmp"' EXIT
gcc -O2 -shared -fPIC -Wall -Wextra -Werror -I"$here/include" -o "$tmp" "$here/tm_icount.c"
mv -f "$tmp" "$out"
echo "$out"
