#!/usr/bin/env bash
# Installs what Strata needs on Debian, skipping what is already there:
# OpenBLAS (CBLAS + LAPACK), libpng, zlib, pkg-config, the real Fashion-MNIST
# (Debian package dataset-fashion-mnist), Open MPI (libopenmpi-dev, and
# openmpi-bin for mpirun: training across processes), and, best effort, Python packages
# for the tests that check Strata against other runtimes: safetensors + NumPy
# (checkpoint interoperability), onnx + onnxruntime (ONNX export), tensorboard
# (its reader reads Strata's event files), and the CPU
# build of PyTorch when its wheel is at hand (PyTorch export). Each of those
# tests is reported as skipped, with the reason, when its package is missing.
set -euo pipefail

packages=(libopenblas-dev libpng-dev zlib1g-dev libcairo2-dev fonts-dejavu-core pkg-config dataset-fashion-mnist curl libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if command -v python3 >/dev/null 2>&1 && ! python3 -c "import safetensors.numpy, numpy" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check safetensors numpy >/dev/null 2>&1 \
    || echo "note: could not install Python safetensors; the interop test will use byte-level fixtures only"
fi

if command -v python3 >/dev/null 2>&1 && ! python3 -c "import onnx, onnxruntime, tensorboard" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check onnx onnxruntime tensorboard >/dev/null 2>&1 \
    || echo "note: could not install onnx, onnxruntime and tensorboard; the ONNX export and TensorBoard reader tests will be skipped"
fi

# PyPI's default torch wheel is a multi-gigabyte CUDA build: install PyTorch only
# from a CPU wheel at hand ($STRATA_TORCH_WHEEL, or the one this machine image
# keeps in /opt/wheels).
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import torch" >/dev/null 2>&1; then
  wheel="${STRATA_TORCH_WHEEL:-$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1)}"
  if [ -n "$wheel" ] && [ -f "$wheel" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "$wheel" >/dev/null 2>&1 \
      || echo "note: could not install $wheel; the PyTorch export runtime test will be skipped"
  else
    echo "note: no PyTorch CPU wheel at hand (set STRATA_TORCH_WHEEL); the PyTorch export runtime test will be skipped"
  fi
fi
