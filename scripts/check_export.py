#!/usr/bin/env python3
"""Checks a model written by `strata export` against Strata's own scores.

    python3 scripts/check_export.py MODEL PIXELS.npy SCORES.npy

MODEL is the .onnx file (run with onnxruntime, after onnx's checker) or the
.py module written beside a --format torch export (run with PyTorch).
PIXELS.npy and SCORES.npy are what `strata export --reference N` writes:
raw test images and the scores Strata gives them. The check passes when every
predicted label is Strata's and the scores agree within 1e-5 (probabilities)
or 1e-5 of the largest score (SVM decision values). Prints one JSON line with
the figures; exits 1 when the check fails.
"""
import importlib.util
import json
import sys

import numpy as np


def run_onnx(path, pixels):
    import onnx
    import onnxruntime
    onnx.checker.check_model(onnx.load(path), full_check=True)  # shape inference too
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    scores, labels = session.run(["scores", "label"], {"pixels": pixels})
    return scores, labels, "onnxruntime " + onnxruntime.__version__


def run_torch(path, pixels):
    import torch
    spec = importlib.util.spec_from_file_location("strata_export", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch.no_grad():
        scores = module.load()(torch.from_numpy(pixels)).numpy()
    return scores, scores.argmax(axis=1), "torch " + torch.__version__


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    model, pixels_path, scores_path = argv[1:]
    pixels = np.load(pixels_path).astype(np.float32)
    want = np.load(scores_path)
    runner = run_onnx if model.endswith(".onnx") else run_torch
    scores, labels, runtime = runner(model, pixels)
    probabilities = bool((want >= 0).all() and np.allclose(want.sum(axis=1), 1, atol=1e-4))
    difference = float(np.abs(scores - want).max())
    tolerance = 1e-5 if probabilities else 1e-5 * max(1.0, float(np.abs(want).max()))
    same = int((np.asarray(labels) == want.argmax(axis=1)).sum())
    result = {"runtime": runtime, "images": int(pixels.shape[0]), "same_labels": same,
              "max_abs_difference": difference, "tolerance": tolerance,
              "scores": "probabilities" if probabilities else "decision values"}
    print(json.dumps(result))
    return 0 if same == pixels.shape[0] and difference <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
