"""AUROC of every anomaly score on near sets (other digits) and far sets (no digit at all), as JSON.

    python benchmarks/anomaly_far.py --bundle trained_models/mnist-1to4 --background trained_models/mnist \
        --data-root PATH/TO/mnist [--shifts 0 1] [--far-images 200]

Normal = the held-out images (the last 1 000, never trained on) of the classes the bundle's prior
was trained on. Near sets: the held-out 5s and all other held-out digits. Far sets
(explorer.core.far_sets, made here, no downloads): uniform and Gaussian noise, blank and
saturated images, inverted and 90°-rotated normal digits, letters and symbols drawn with
Pillow's built-in font, and Fashion-MNIST's held-out images when its own files are in
--data-root. Scores (explorer.core.anomaly, higher = more anomalous): nll, ratio (with
--background), complexity, and combined (explorer.core.combined_score: DoSE over ratio and
complexity), the normal set's combined scores cross-fitted in two halves so no image is scored
by a density fitted on it. Each score also with ±1 px shift averaging (``--shifts 0 1``).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from explorer.core.anomaly import score_images
from explorer.core.anomaly_report import Column, add_combined, advice_lines, auroc_table, recommended
from explorer.core.anomaly_sets import prior_classes
from explorer.core.bundle import load_bundle
from explorer.core.data import DataConfig, load_data, parse_classes
from explorer.core.far_sets import far_sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default="trained_models/mnist-1to4")
    ap.add_argument("--background", default="trained_models/mnist", help="background bundle for the ratio ('' = none)")
    ap.add_argument("--data-root", required=True, help="folder with the MNIST files")
    ap.add_argument("--normal", default=None, help="classes the prior was trained on (default: the bundle's)")
    ap.add_argument("--shifts", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--far-images", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(args.bundle)
    background = load_bundle(args.background).prior if args.background else None
    normal_classes = parse_classes(args.normal) if args.normal else prior_classes(bundle.history)
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000)).val
    labels, images = data.labels.numpy(), data.images.numpy()
    is_normal = np.ones(len(labels), bool) if not normal_classes else np.isin(labels, normal_classes)
    sets: dict[str, tuple[np.ndarray, np.ndarray | None, bool]] = {}      # key -> (images, labels, far?)
    if normal_classes:
        sets["class:5"] = (images[labels == 5], labels[labels == 5], False)
        sets["others"] = (images[~is_normal], labels[~is_normal], False)
    for key, subset in far_sets(images[is_normal], args.far_images, data_root=args.data_root).items():
        sets[key] = (subset.images, None, True)
    columns = [Column(k, k.split(":", 1)[-1], far) for k, (_, _, far) in sets.items()]
    report: dict = {"bundle": args.bundle, "background": args.background or None,
                    "normal_classes": list(normal_classes or []), "normal_images": int(is_normal.sum()),
                    "set_images": {k: int(len(v[0])) for k, v in sets.items()},
                    "fashion_mnist": "far:fashion-mnist" in sets, "auroc": {}, "advice": {}, "seconds": {}}
    for shifts in args.shifts:
        start = time.perf_counter()
        normal = score_images(bundle.vqvae, bundle.prior, images[is_normal], background, shifts=shifts,
                              labels=labels[is_normal]).scores
        others = {k: score_images(bundle.vqvae, bundle.prior, imgs, background, shifts=shifts, labels=lab).scores
                  for k, (imgs, lab, _) in sets.items()}
        add_combined(normal, others)
        kinds = [k for k in ("nll", "ratio", "complexity", "combined", "nll-label") if k in normal]
        table = auroc_table(normal, others, columns, kinds)
        name = f"shift{shifts}"
        report["auroc"][name] = {kind: {c.key: round(table.get(kind, c.key), 4) for c in columns
                                        if table.get(kind, c.key) is not None} for kind in kinds}
        best = recommended(table)
        report["advice"][name] = {"recommended": None if best is None else best[0],
                                  "worst_auroc": None if best is None else round(best[1], 4),
                                  "lines": advice_lines(table)}
        report["seconds"][name] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
