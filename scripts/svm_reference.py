#!/usr/bin/env python3
"""Check Strata's linear SVM against scikit-learn's LinearSVC on the same features.

Usage:
  strata features STACK --split train -o train.npy      # or any features with FILE.labels.npy
  strata features STACK --split test -o test.npy
  strata finetune svm --train-features train.npy --test-features test.npy --c C --tolerance T --run RUN
  python3 scripts/svm_reference.py train.npy test.npy RUN/evaluation.json [--c C] [--tol T]

Standardizes the features as Strata does ((x - mean) / (std + 0.01), fitted on
training data), trains LinearSVC(loss='squared_hinge', dual=True, C, tol) one
vs rest, and prints both test accuracies and, per class, both primal objectives
0.5 |w|^2 + C sum max(0, 1 - y (w.x + b))^2 (LIBLINEAR regularizes the bias,
which is a weight on a constant feature of 1, intercept_scaling=1).
Exits 1 when the accuracies differ by more than 0.3 points or an objective by more than 1%.
"""
import argparse
import json
import sys
import time

import numpy as np
from sklearn.svm import LinearSVC


def labels_path(path):
    return (path[:-4] if path.endswith(".npy") else path) + ".labels.npy"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("train")
    p.add_argument("test")
    p.add_argument("evaluation", help="evaluation.json written by `strata finetune svm`")
    p.add_argument("--c", type=float, default=None, help="default: the C in evaluation.json")
    p.add_argument("--tol", type=float, default=0.01)
    p.add_argument("--std-eps", type=float, default=0.01)
    args = p.parse_args()

    strata = json.load(open(args.evaluation))
    c = args.c if args.c is not None else strata["c"]
    xtr = np.load(args.train).astype(np.float64)
    ytr = np.load(labels_path(args.train)).astype(np.int64)
    xte = np.load(args.test).astype(np.float64)
    yte = np.load(labels_path(args.test)).astype(np.int64)
    mean = xtr.mean(axis=0)
    std = xtr.std(axis=0)
    xtr = (xtr - mean) / (std + args.std_eps)
    xte = (xte - mean) / (std + args.std_eps)

    start = time.time()
    svc = LinearSVC(C=c, loss="squared_hinge", dual=True, tol=args.tol, max_iter=1000, intercept_scaling=1.0)
    svc.fit(xtr, ytr)
    seconds = time.time() - start
    accuracy = float((svc.predict(xte) == yte).mean())

    worst = 0.0
    print(f"C {c}, tol {args.tol}: scikit-learn {seconds:.1f} s, Strata SVM {strata.get('svm_seconds', float('nan')):.1f} s")
    print("class  objective(sklearn)  objective(strata)  relative difference")
    for k in range(len(svc.classes_)):
        y = np.where(ytr == svc.classes_[k], 1.0, -1.0)
        w, b = svc.coef_[k], svc.intercept_[k]
        margin = np.maximum(0.0, 1.0 - y * (xtr @ w + b))
        objective = 0.5 * (w @ w + b * b) + c * (margin ** 2).sum()
        ours = strata[f"objective_class_{k}"]
        rel = abs(ours - objective) / objective
        worst = max(worst, rel)
        print(f"{k:5d}  {objective:18.6g}  {ours:17.6g}  {rel:19.2e}")
    difference = abs(accuracy - strata["accuracy"]) * 100
    print(f"test accuracy: scikit-learn {100 * accuracy:.2f}%, Strata {100 * strata['accuracy']:.2f}% "
          f"(difference {difference:.2f} points); largest objective difference {100 * worst:.3f}%")
    ok = difference <= 0.3 and worst <= 0.01
    print("AGREE" if ok else "DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
