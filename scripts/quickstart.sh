#!/usr/bin/env bash
# The main job: pylearn2's quick start (grbm_smd) on the default data, real
# Fashion-MNIST. Installs what it needs, builds Strata in release mode, then:
#   1. draws 150,000 random 8x8 patches, contrast-normalizes (GCN, sqrt_bias 10,
#      use_std) and ZCA-whitens them;
#   2. trains a Gaussian-Bernoulli RBM 64-400 by denoising score matching with
#      the quick start's settings until the objective stops improving by 1%;
#   3. writes the filters as PNG tiles (whitened space, as pylearn2 shows them,
#      and unwhitened, in pixel space).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product strata
strata=.build/release/strata
run=runs/grbm_smd

$strata data list
# Tutorials/grbm_smd/experiment.yaml: patches, GCN + ZCA, GRBM by SMD, weights.png, monitor.png.
$strata tutorial grbm_smd
