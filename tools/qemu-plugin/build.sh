#!/usr/bin/env bash
# Build the instruction-count plugin: fetches qemu-plugin.h first when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build/libtm_icount.so}"
[ -s "$here/include/qemu-plugin.h" ] || "$here/fetch-header.sh" >/dev/null
mkdir -p "$(dirname "$out")"
gcc -O2 -shared -fPIC -Wall -Wextra -Werror -I"$here/include" -o "$out" "$here/tm_icount.c"
echo "$out"
