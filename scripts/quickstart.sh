#!/usr/bin/env bash
# The main job: installs what it needs, builds Strata in release mode, and
# runs the tutorial pipeline on the default data (real Fashion-MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product strata
strata=.build/release/strata
out=runs/quickstart
mkdir -p "$out"

$strata data list
$strata data info fashion-mnist
$strata data show fashion-mnist --count 100 -o "$out/samples.png"
$strata bench gemm --shapes sq1024,rbm_up,rbm_down,rbm_grad --repetitions 3
echo
echo "samples:  $out/samples.png"
