#!/usr/bin/env bash
# Installs what Strata needs on Debian, skipping what is already there:
# OpenBLAS (CBLAS + LAPACK), libpng, zlib, pkg-config, the real Fashion-MNIST
# (Debian package dataset-fashion-mnist), and, best effort, Python's
# safetensors + NumPy for the checkpoint interoperability test.
set -euo pipefail

packages=(libopenblas-dev libpng-dev zlib1g-dev libcairo2-dev fonts-dejavu-core pkg-config dataset-fashion-mnist curl)
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
