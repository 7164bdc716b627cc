#!/usr/bin/env bash
# Sets up torchts-ood on a fresh machine: LibTorch (PyTorch from PyPI when none is found), the
# FashionMNIST data (Debian/Ubuntu package), the npm packages, the native addon and the TypeScript build.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*" >&2; }
PY=${PYTHON:-python3}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)). Install it, then run this again."
  exit 1
fi

# LibTorch: $LIBTORCH, else the PyTorch that python3 imports, else install PyTorch from PyPI.
if [ -n "${LIBTORCH:-}" ]; then
  [ -f "$LIBTORCH/include/torch/script.h" ] || { say "LIBTORCH=$LIBTORCH is not a LibTorch folder (no include/torch/script.h)"; exit 1; }
  say "using LibTorch from LIBTORCH=$LIBTORCH"
elif "$PY" -c 'import torch' 2>/dev/null; then
  say "using the LibTorch inside PyTorch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null | tail -1)"
elif "$PY" -m pip --version >/dev/null 2>&1; then
  say "no LibTorch found: installing PyTorch 2.x from PyPI with pip (its LibTorch is what the addon links)"
  "$PY" -m pip install --quiet "torch>=2.1,<3"
else
  say "no LibTorch found and no pip to install it: install PyTorch (python3 -m pip install torch) or set LIBTORCH to a LibTorch folder"
  exit 1
fi
# safetensors (Python) lets the tests check that Python reads the checkpoints this library writes.
"$PY" -c 'import safetensors' 2>/dev/null || "$PY" -m pip install --quiet safetensors || say "could not install Python's safetensors (one test needs it)"

# FashionMNIST, the default data set: Debian's package holds the official files.
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${TORCHTS_OOD_DATA:-}" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing FashionMNIST (Debian package dataset-fashion-mnist)"
    $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    say "FashionMNIST not found: this is not Debian/Ubuntu, so fetch it yourself (torchts-ood train --download, or put the"
    say "official files in \$TORCHTS_OOD_DATA/fashion-mnist/) and run this again"
    exit 1
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build
say "ready: npx torchts-ood --help"
