#!/usr/bin/env python3
"""pylearn2's global contrast normalization and ZCA, in NumPy float64, to check Strata against.

The formulas follow pylearn2/expr/preprocessing.py (global_contrast_normalize)
and pylearn2/datasets/preprocessing.py (ZCA.fit / ZCA.apply), as summarized in
ANCHORS.md section 2. Usage:

    python3 scripts/pylearn2_reference.py INPUT.npy STRATA_OUTPUT.npy [--sqrt-bias 10] [--no-use-std] [--filter-bias 0.1]

INPUT.npy is the raw matrix (examples x features); STRATA_OUTPUT.npy is what
`strata preprocess INPUT.npy --preprocess gcn,zca ...` wrote. Prints the largest
difference relative to the largest reference value; exits 1 above 1e-4.
"""
import argparse
import sys

import numpy as np


def global_contrast_normalize(X, scale=1.0, subtract_mean=True, use_std=False, sqrt_bias=0.0, min_divisor=1e-8):
    mean = X.mean(axis=1)
    X = X - mean[:, np.newaxis] if subtract_mean else X.copy()
    if use_std:
        normalizers = np.sqrt(sqrt_bias + X.var(axis=1, ddof=1)) / scale
    else:
        normalizers = np.sqrt(sqrt_bias + (X ** 2).sum(axis=1)) / scale
    normalizers[normalizers < min_divisor] = 1.0
    return X / normalizers[:, np.newaxis]


def zca_fit_apply(X, filter_bias=0.1):
    mean = X.mean(axis=0)
    Xc = X - mean
    covariance = Xc.T.dot(Xc) / X.shape[0] + filter_bias * np.identity(X.shape[1])
    eigs, eigv = np.linalg.eigh(covariance)
    P = (eigv * np.sqrt(1.0 / eigs)).dot(eigv.T)
    return (X - mean).dot(P)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("strata_output")
    parser.add_argument("--sqrt-bias", type=float, default=10.0)
    parser.add_argument("--no-use-std", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--filter-bias", type=float, default=0.1)
    parser.add_argument("--steps", default="gcn,zca", help="gcn, zca or gcn,zca")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    X = np.load(args.input).astype(np.float64)
    steps = args.steps.split(",")
    if "gcn" in steps:
        X = global_contrast_normalize(X, scale=args.scale, use_std=not args.no_use_std, sqrt_bias=args.sqrt_bias)
    if "zca" in steps:
        X = zca_fit_apply(X, filter_bias=args.filter_bias)
    ours = np.load(args.strata_output).astype(np.float64)
    if ours.shape != X.shape:
        print(f"shape mismatch: strata {ours.shape}, reference {X.shape}")
        return 1
    relative = np.abs(ours - X).max() / np.abs(X).max()
    print(f"steps={args.steps} shape={X.shape} max_abs_diff={np.abs(ours - X).max():.3e} max_ref={np.abs(X).max():.3e} relative={relative:.3e}")
    return 0 if relative <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
