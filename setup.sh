#!/usr/bin/env bash
# Sets everything up and runs the main job on the bundled example:
#   system packages (apt-get, only those missing), a venv in .venv, tinyml with its test extras,
#   then compiles examples/digits_mlp.onnx to int8 C for a Cortex-M4 and runs it on the host.
# Options: --with-tf also installs the [tf] extra (Keras import, TF comparisons; 1.6 GB).
set -euo pipefail
cd "$(dirname "$0")"

extras="test"
for arg in "$@"; do
  case "$arg" in
    --with-tf) extras="test,tf" ;;
    *) echo "usage: ./setup.sh [--with-tf]" >&2; exit 2 ;;
  esac
done

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v arm-none-eabi-gcc >/dev/null || missing+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[$extras]"

if [ -x tools/qemu-plugin/build.sh ]; then
  tools/qemu-plugin/build.sh
fi

echo "setup: compiling the bundled example"
.venv/bin/tinyml compile examples/digits_mlp.onnx --target cortex-m4 --dtype int8 \
  --calib examples/digits_calib.npz -o build/digits_mlp_tinyml
.venv/bin/python examples/run_digits.py build/digits_mlp_tinyml
