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
$strata pretrain \
  --dataset fashion-mnist --pixel-scale 255 \
  --window 8 --random 150000 --preprocess gcn,zca --sqrt-bias 10 --use-std --filter-bias 0.1 \
  --learner grbm --hidden 400 --objective smd --noise 0.4 \
  --irange 0.05 --init-sigma 0.4 --init-hidden-bias -2 --sigma-lr-scale 0.001 \
  --batch-size 5 --learning-rate 0.1 --lr-schedule monitor \
  --early-stopping train_objective --prop-decrease 0.01 --patience 1 --epochs 100 \
  --run "$run"
$strata show-weights "$run/model.safetensors" -o "$run/weights.png" --scale 2
$strata show-weights "$run/model.safetensors" -o "$run/weights_unwhitened.png" --scale 2 --unwhiten

echo
echo "checkpoint:         $run/model.safetensors"
echo "weights:            $run/weights.png"
echo "weights (unwhiten): $run/weights_unwhitened.png"
echo "monitor channels:   $run/monitor.jsonl"
