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

# Python packages: torch (its LibTorch is what the addon links, unless $LIBTORCH names another), numpy
# (safetensors.torch and PyTorch's tensor interop import it; the wheel does not bring it) and safetensors (a
# test checks that Python reads the checkpoints this library writes). Only the missing ones are installed.
if [ -n "${LIBTORCH:-}" ]; then
  [ -f "$LIBTORCH/include/torch/script.h" ] || { say "LIBTORCH=$LIBTORCH is not a LibTorch folder (no include/torch/script.h)"; exit 1; }
  say "using LibTorch from LIBTORCH=$LIBTORCH"
fi
command -v "$PY" >/dev/null 2>&1 || { say "no Python at '$PY': install Python 3 with pip, or set PYTHON to one"; exit 1; }
missing=()
"$PY" -c 'import torch' 2>/dev/null || missing+=("torch")
"$PY" -c 'import numpy' 2>/dev/null || missing+=("numpy")
"$PY" -c 'import safetensors' 2>/dev/null || missing+=("safetensors")
if [ ${#missing[@]} -gt 0 ]; then
  "$PY" -m pip --version >/dev/null 2>&1 || { say "$PY has no pip to install ${missing[*]}: install them, or set PYTHON to a Python with pip (python3 -m venv .venv; PYTHON=.venv/bin/python)"; exit 1; }
  say "installing into $PY from PyPI: ${missing[*]} (PyTorch is about 1 GB with its CUDA libraries; its LibTorch runs on CPUs too)"
  # The versions are pinned in one place (scripts/python-constraints.txt): the LibTorch the tests were run against.
  "$PY" -m pip install --quiet --disable-pip-version-check -c scripts/python-constraints.txt "${missing[@]}" ||
    { say "pip could not install ${missing[*]} into $PY (an externally managed Python? use a venv: python3 -m venv .venv, then PYTHON=.venv/bin/python bash scripts/setup.sh)"; exit 1; }
fi
"$PY" -c 'import torch, numpy, safetensors.torch' 2>/dev/null ||
  { say "$PY still cannot import torch, numpy and safetensors.torch after installing; run: $PY -c 'import torch, numpy, safetensors.torch'"; exit 1; }
say "Python packages: $("$PY" -c 'import torch, numpy, safetensors; print(f"torch {torch.__version__}, numpy {numpy.__version__}, safetensors {safetensors.__version__}")' 2>/dev/null)"
# CMake (CMakeLists.txt) and the tests use the same Python.
export PYTHON="$PY"

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

# Gloo's headers, for distributed training: c10d's ProcessGroupGloo.hpp includes them and the wheel leaves
# them out (the gloo code itself is inside LibTorch). Without them the addon builds without distributed training.
if [ ! -f /usr/include/gloo/algorithm.h ] && [ -z "${GLOO_INCLUDE_DIR:-}" ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  say "installing gloo's headers for distributed training (Debian package libgloo-dev)"
  { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq libgloo-dev >/dev/null; } ||
    say "could not install libgloo-dev: the addon is built without distributed training (train --nproc)"
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build
bash scripts/check-setup.sh
say "ready: npx torchts-ood --help"
