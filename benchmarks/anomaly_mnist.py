"""AUROC of every anomaly score of a prior trained on some digits only, printed as JSON.

    python benchmarks/anomaly_mnist.py --bundle trained_models/mnist-1to4 --background trained_models/mnist \
        --data-root ../shared/data/mnist

On the held-out 1 000 digits (never trained on) each digit gets every score of
explorer.core.anomaly, higher = more anomalous (notes, "Likelihood and anomaly detection"):

* nll: -log p(z) in nats, log p(z) = sum_ij log p(z_ij | z_<ij);
* ratio: -log p_in(z) + log p_bg(z) (Ren et al. 2019), the background prior from --background
  (same VQ-VAE; the shipped all-digit prior for mnist-1to4: it has seen digits of every class,
  but none of the held-out 1 000);
* complexity: -log2 p(z) - L in bits (Serrà et al. 2020), for each compressor L;
* each also averaged over the image shifted by -1..1 pixels (9 copies, ``_shift1``).

AUROC (Mann-Whitney, ties count 1/2) of "normal" (the prior's classes, e.g. 1-4) against the
held-out 5s and against all other held-out digits; against Fashion-MNIST when its files are in
--fashion-root. ``--split selection`` scores the first 3 000 images of the training pool instead:
the set used to choose between variants, so that nothing is tuned on the held-out 1 000.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core.anomaly import COMPRESSORS, auroc, complexity_bits, complexity_score, score_images
from explorer.core.anomaly_sets import prior_classes
from explorer.core.bundle import load_bundle
from explorer.core.data import DataConfig, DataError, load_data, parse_classes

SELECTION_IMAGES = 3000


def all_scores(bundle, background, images: torch.Tensor) -> dict[str, np.ndarray]:
    """Every score variant of uint8 images (N, 1, 28, 28), keyed e.g. "ratio" or "ratio_shift1"."""
    out: dict[str, np.ndarray] = {}
    for shifts in (0, 1):
        scored = score_images(bundle.vqvae, bundle.prior, images, background, shifts=shifts)
        suffix = "" if shifts == 0 else f"_shift{shifts}"
        for kind, values in scored.scores.items():
            out[kind + suffix] = values
        if shifts == 0:                               # the other compressors, unshifted
            for compressor in COMPRESSORS[1:]:
                bits = complexity_bits(compressor, scored.likelihoods.codes, images, bundle.vqvae.config.num_codes)
                out[f"complexity_{compressor}"] = complexity_score(scored.likelihoods.nll, bits)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default="trained_models/mnist-1to4")
    ap.add_argument("--background", default="trained_models/mnist", help="background bundle for the ratio")
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    ap.add_argument("--fashion-root", default=None, help="folder with Fashion-MNIST's files, if you have them")
    ap.add_argument("--normal", default=None, help="classes the prior was trained on (default: the bundle's)")
    ap.add_argument("--split", choices=("heldout", "selection"), default="heldout")
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    bundle = load_bundle(args.bundle)
    background = load_bundle(args.background)
    if bundle.prior is None or background.prior is None:
        raise SystemExit("both bundles need a prior")
    normal = parse_classes(args.normal) if args.normal else prior_classes(bundle.history)
    if not normal:
        raise SystemExit("say which classes are normal with --normal, e.g. 1-4")
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    pool = data.val if args.split == "heldout" else data.train
    images = pool.images if args.split == "heldout" else pool.images[:SELECTION_IMAGES]
    labels = pool.labels.numpy()[:len(images)]
    scores = all_scores(bundle, background.prior, images)
    is_normal = np.isin(labels, normal)
    is_five = labels == 5
    table = {name: {"vs_5": round(auroc(s[is_normal], s[is_five]), 4),
                    "vs_all_others": round(auroc(s[is_normal], s[~is_normal]), 4)} for name, s in scores.items()}
    fashion: dict | str
    try:
        if not args.fashion_root:
            raise DataError("no --fashion-root given")
        other = load_data(DataConfig(name="fashion-mnist", root=args.fashion_root, holdout_last=1000)).val.images
        other_scores = all_scores(bundle, background.prior, other)
        fashion = {name: round(auroc(scores[name][is_normal], s), 4) for name, s in other_scores.items()}
    except DataError as exc:
        fashion = f"not measured: Fashion-MNIST files not available ({str(exc).splitlines()[0]})"
    nll = scores["nll"] / np.prod(bundle.prior.config.height * bundle.prior.config.width)
    print(json.dumps({
        "bundle": str(args.bundle), "background": str(args.background), "split": args.split,
        "images": int(len(labels)), "normal_classes": list(normal),
        "normal_images": int(is_normal.sum()), "fives": int(is_five.sum()), "others": int((~is_normal).sum()),
        "nll_per_latent_normal": round(float(nll[is_normal].mean()), 4),
        "nll_per_latent_other": round(float(nll[~is_normal].mean()), 4),
        "auroc": table,
        "auroc_vs_fashion_mnist": fashion,
        "seconds": round(time.perf_counter() - start, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
