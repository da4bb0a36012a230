"""Likelihood-based anomaly detection with a prior trained on some digits only, printed as JSON.

    python benchmarks/anomaly_mnist.py --bundle trained_models/mnist-1to4 --data-root ../shared/data/mnist

On the held-out 1 000 digits (never trained on), each digit is scored by the prior's NLL in nats
per latent, -log p(z) / (H W) with log p(z) = sum_ij log p(z_ij | z_<ij) (notes, "Likelihood and
anomaly detection"). Digits of the classes the prior was trained on ("normal") should score
lower than the others; the AUROC of "not normal" ranked by NLL measures how well.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from explorer.core.bundle import load_bundle
from explorer.core.data import DataConfig, load_data, parse_classes
from explorer.core.metrics import encode_images


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for ``positive`` (Mann-Whitney U with tied ranks)."""
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):                                  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default="trained_models/mnist-1to4")
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    ap.add_argument("--normal", default=None, help="classes the prior was trained on (default: the bundle's)")
    args = ap.parse_args()
    bundle = load_bundle(args.bundle)
    if bundle.prior is None:
        raise SystemExit(f"{args.bundle} has no prior")
    prior_data = ((bundle.history or {}).get("prior") or {}).get("data") or {}
    normal_spec = args.normal or prior_data.get("classes")
    if not normal_spec:
        raise SystemExit("say which classes are normal with --normal, e.g. 1-4")
    normal = set(parse_classes(normal_spec) if isinstance(normal_spec, str) else normal_spec)
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    codes = encode_images(bundle.vqvae, data.val.images)
    with torch.no_grad():
        bundle.prior.eval()
        nll = torch.cat([-bundle.prior.log_prob(codes[s:s + 500]) for s in range(0, len(codes), 500)])
    per_latent = (nll / codes[0].numel()).numpy()
    labels = data.val.labels.numpy()
    is_normal = np.isin(labels, sorted(normal))
    print(json.dumps({
        "bundle": str(args.bundle), "normal_classes": sorted(normal), "heldout_images": len(labels),
        "nll_normal": round(float(per_latent[is_normal].mean()), 4),
        "nll_other": round(float(per_latent[~is_normal].mean()), 4),
        "nll_per_class": {int(c): round(float(per_latent[labels == c].mean()), 3) for c in np.unique(labels)},
        "auroc_other_by_nll": round(auroc(per_latent, ~is_normal), 4),
    }, indent=2))


if __name__ == "__main__":
    main()
