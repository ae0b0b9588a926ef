#!/usr/bin/env bash
# Sets up footfall on a fresh machine: the system PortAudio library, a Python 3.11 virtual environment in .venv with
# the pinned dependency set, and stable-audio-tools installed without its unresolvable pins.
# Idempotent: a second run with unchanged pyproject.toml and setup.sh only checks and exits.
set -euo pipefail
cd "$(dirname "$0")"

if ! ldconfig -p 2>/dev/null | grep -q libportaudio.so.2; then
    echo "setup: installing the system PortAudio library (libportaudio2)"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libportaudio2 >/dev/null
fi

python_bin="${FOOTFALL_PYTHON:-}"
if [ -z "$python_bin" ]; then
    for candidate in python3.11 "$HOME/.pyenv/versions/3.11.7/bin/python3.11" python3; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            python_bin="$candidate"; break
        fi
    done
fi
[ -n "$python_bin" ] || { echo "setup: Python 3.11 is required (set FOOTFALL_PYTHON)" >&2; exit 1; }

stamp=".venv/.footfall-setup"
want="$(cat pyproject.toml setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/footfall ]; then
    exit 0
fi

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.8"
# --compile-bytecode: uv does not compile by default, and without .pyc files every run re-compiles what it imports
# (numba alone: 0.4 s of each render's start-up).
uv() { .venv/bin/python -m uv pip "$@" --python .venv/bin/python -q --compile-bytecode; }
uv install -e ".[test]"
# stable-audio-tools 0.0.19 pins protobuf<3.20 (through descript-audiotools, wandb) against mediapipe's >=4.25.3:
# install it and k-diffusion without dependencies, plus exactly what the generation path imports.
# 0.0.20 installs the same way, but its model factory also imports PyWavelets and pytorch_lightning (through its
# LoRA callbacks; 3-4 s more per model load here) and footfall converts LoRA files itself: 0.0.19 stays.
uv install --no-deps "stable-audio-tools==0.0.19" "k-diffusion==0.1.1"
uv install "einops" "einops-exts" "alias-free-torch" "safetensors" "scikit-image" "jsonmerge" "dctorch" \
    "torchdiffeq" "torchsde" "clean-fid" "clip-anytorch" "setuptools<81"
echo "$want" > "$stamp"
echo "setup: ready (.venv)"
