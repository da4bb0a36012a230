"""``score``: an anomaly score per input image as JSON (higher = more anomalous).

    python -m explorer score digit.png more_digits/ --bundle trained_models/mnist-1to4 --method ratio \
        --background trained_models/mnist --json

Methods (see explorer.core.anomaly): ``nll`` = -log p(z) in nats; ``ratio`` = -log p_in(z) +
log p_bg(z) in nats (needs --background, a bundle with the same VQ-VAE); ``complexity`` =
-log2 p(z) - L in bits, L from --compressor. ``--shifts 1`` averages the score over the image
moved by up to one pixel (9 copies): on mnist-1to4 the ratio then reaches AUROC 0.97+ (see
trained_models/mnist-1to4/MODEL_CARD.md).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .common import CliError

# Copies of explorer.core.anomaly.SCORE_KINDS / COMPRESSORS and formats.IMAGE_EXTENSIONS: building the
# parser (``--help``) must not import the core (torch); tests/test_cli_score.py checks they agree.
SCORE_KINDS = ("nll", "ratio", "complexity")
COMPRESSORS = ("adaptive-codes", "png-codes", "png-image")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def add_score_parser(sub) -> None:
    p = sub.add_parser("score", help="anomaly score of each image under a bundle's prior, as JSON",
                       description="Score images (files or folders of images) by the bundle's prior: "
                                   "one JSON list of {name, score}, higher = more anomalous.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument("--bundle", required=True, metavar="DIR", help="bundle with a VQ-VAE and a prior")
    p.add_argument("--method", choices=SCORE_KINDS, default="nll",
                   help="nll (nats), ratio (nats, needs --background) or complexity (bits); default nll")
    p.add_argument("--background", metavar="DIR",
                   help="background bundle for --method ratio: a prior over the same VQ-VAE's codes")
    p.add_argument("--compressor", choices=COMPRESSORS, default=COMPRESSORS[0],
                   help=f"L(x) for --method complexity (default {COMPRESSORS[0]})")
    p.add_argument("--shifts", type=int, default=0, metavar="S",
                   help="average the score over the image moved by -S..S pixels ((2S+1)^2 copies; default 0 = off)")
    p.add_argument("--json", action="store_true", help="print JSON (the only output format; kept for scripts)")


def image_files(inputs: list[str]) -> list[tuple[str, Path]]:
    """(name, path) per image: a file is named as given, a folder's images by their path inside it."""
    found: list[tuple[str, Path]] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not files:
                raise CliError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in folder {path}")
            found += [(str(f.relative_to(path.parent)), f) for f in files]
        elif path.is_file():
            found.append((str(path), path))
        else:
            from ..core.safe_io import missing_input_message
            raise CliError(missing_input_message(path))      # says what a FIFO or device is, not "no such file"
    return found


def _bundle_with_prior(path: str, what: str):
    from ..core.bundle import load_bundle
    bundle = load_bundle(path)
    if bundle.prior is None:
        raise CliError(f"{what} {path} has no prior: train one with 'python -m explorer train prior'")
    return bundle


def run_score(args: argparse.Namespace) -> int:
    from ..core.anomaly import same_vqvae, score_images
    from ..core.data.formats import read_image_files
    if not 0 <= args.shifts <= 4:
        raise CliError(f"--shifts must be between 0 and 4, got {args.shifts}")
    bundle = _bundle_with_prior(args.bundle, "bundle")
    background = None
    if args.method == "ratio":
        if not args.background:
            raise CliError("--method ratio needs --background DIR (a prior over the same VQ-VAE's codes)")
        bg_bundle = _bundle_with_prior(args.background, "background bundle")
        if not same_vqvae(bundle.vqvae, bg_bundle.vqvae):
            raise CliError(f"the background bundle {args.background} has a different VQ-VAE from {args.bundle}: "
                           f"their codes mean different things")
        background = bg_bundle.prior
    elif args.background:
        raise CliError("--background is only used with --method ratio")
    files = image_files(args.inputs)
    vq = bundle.vqvae.config
    images = read_image_files([p for _, p in files], image_size=vq.image_size, grayscale=vq.in_channels == 1)
    if images.shape[1] != vq.in_channels:
        raise CliError(f"the images have {images.shape[1]} channels but the VQ-VAE expects {vq.in_channels}")
    import torch
    scored = score_images(bundle.vqvae, bundle.prior, torch.from_numpy(images), background_prior=background,
                          compressor=args.compressor, shifts=args.shifts)
    scores = scored.scores[args.method]
    rows = [{"name": name, "score": round(float(s), 6)} for (name, _), s in zip(files, scores)]
    if not all(math.isfinite(r["score"]) for r in rows):
        raise CliError("a score is not finite: the bundle's weights may be broken")
    print(json.dumps(rows))
    return 0
