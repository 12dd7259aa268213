#!/usr/bin/env bash
# Fetch qemu-plugin.h from Debian's qemu source package, matching the installed
# qemu-system-arm. Third-party header: downloaded at set-up, never committed.
# Uses a private apt state dir so the system's sources.list is left alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/include/qemu-plugin.h"
[ -s "$dest" ] && { echo "$dest"; exit 0; }

work="$(mktemp -d)"
trap 'rm -rf "$work" "$dest.$$.tmp"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/sources.list.d"
# Same mirrors and suites as the binary packages, as deb-src: deb822 or one-line format.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > "$work/sources.list.d/src.sources"
else
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -n 's/^deb \(.*\)$/deb-src \1/p' > "$work/sources.list.d/src.list"
fi
opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/sources.list.d"
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
      -o "APT::Sandbox::User=root")
apt-get "${opts[@]}" -qq update >/dev/null
ver="$(dpkg-query -W -f='${source:Version}' qemu-system-arm 2>/dev/null || true)"
cd "$work"
if [ -n "$ver" ] && apt-get "${opts[@]}" -qq source --download-only "qemu=$ver" >/dev/null 2>&1; then :
else apt-get "${opts[@]}" -qq source --download-only qemu >/dev/null; fi
orig="$(ls "$work"/qemu_*.orig.tar.* | head -n1)"
mkdir -p "$here/include"
tar -xf "$orig" -C "$work" --wildcards '*/include/qemu/qemu-plugin.h'
# Copy beside it, then rename: a concurrent build.sh never compiles a half-copied header.
cp "$(find "$work" -path '*/include/qemu/qemu-plugin.h' | head -n1)" "$dest.$$.tmp"
mv -f "$dest.$$.tmp" "$dest"
echo "$dest"
