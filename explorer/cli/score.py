"""``score``: an anomaly score per input image as JSON (higher = more anomalous).

    python -m explorer score digit.png more_digits/ --bundle trained_models/mnist-1to4 --method combined \
        --background trained_models/mnist --shifts 1 --json

Methods (see explorer.core.anomaly): ``nll`` = -log p(z) in nats; ``ratio`` = -log p_in(z) +
log p_bg(z) in nats (needs --background, a bundle with the same VQ-VAE); ``complexity`` =
-log2 p(z) - L in bits, L from --compressor; ``combined`` = the DoSE density of (ratio,
complexity) (of (nll, complexity) without --background), fitted on the bundle's normal
validation images (explorer.core.combined_score): good on near outliers (a held-out 5 for
mnist-1to4) and on inputs that look like no digit (noise, blank, letters), where the ratio
alone calls them normal; ``nll-label`` = -log p(z | C) for a class-conditional prior, with
``--label C``. For a class-conditional prior every other score uses the class-marginalised
-log p(z) = -logsumexp_c [log p(z|c) + log p(c)] (uniform p(c)); one line on stderr says so.
``--shifts 1`` averages the score over the image moved by up to one pixel (9 copies); see
trained_models/mnist-1to4/MODEL_CARD.md for every score's AUROC.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .common import CliError

# Copies of explorer.core.anomaly.SCORE_KINDS / COMPRESSORS and formats.IMAGE_EXTENSIONS: building the
# parser (``--help``) must not import the core (torch); tests/test_cli_score.py checks they agree.
SCORE_KINDS = ("nll", "ratio", "complexity", "combined", "nll-label")
COMPRESSORS = ("adaptive-codes", "png-codes", "png-image")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def add_score_parser(sub) -> None:
    p = sub.add_parser("score", help="anomaly score of each image under a bundle's prior, as JSON",
                       description="Score images (files or folders of images) by the bundle's prior: "
                                   "one JSON list of {name, score}, higher = more anomalous.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument("--bundle", required=True, metavar="DIR", help="bundle with a VQ-VAE and a prior")
    p.add_argument("--method", choices=SCORE_KINDS, default="nll",
                   help="nll (nats), ratio (nats, needs --background), complexity (bits), combined (near and "
                        "far outliers; fitted on the bundle's validation images) or nll-label (a class-"
                        "conditional prior, with --label); default nll")
    p.add_argument("--background", metavar="DIR",
                   help="background bundle for --method ratio or combined: a prior over the same VQ-VAE's codes")
    p.add_argument("--label", type=int, metavar="C",
                   help="class-conditional prior: score every input given class C (--method nll-label)")
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


def _background(args: argparse.Namespace, bundle):
    if args.method in ("ratio", "combined") and args.background:
        from ..core.anomaly import same_vqvae
        bg_bundle = _bundle_with_prior(args.background, "background bundle")
        if not same_vqvae(bundle.vqvae, bg_bundle.vqvae):
            raise CliError(f"the background bundle {args.background} has a different VQ-VAE from {args.bundle}: "
                           f"their codes mean different things")
        return bg_bundle.prior
    if args.method == "ratio":
        raise CliError("--method ratio needs --background DIR (a prior over the same VQ-VAE's codes)")
    if args.background:
        raise CliError("--background is only used with --method ratio or combined")
    return None


def _labels(args: argparse.Namespace, prior, count: int):
    """(labels or None, the one line saying which likelihood is shown, or "")."""
    import numpy as np

    from ..core.class_likelihood import is_conditional, num_classes
    if not is_conditional(prior):
        if args.label is not None or args.method == "nll-label":
            raise CliError("this prior is not class-conditional: --label and --method nll-label do not apply")
        return None, ""
    classes = num_classes(prior)
    if args.label is not None and not 0 <= args.label < classes:
        raise CliError(f"--label must be a class between 0 and {classes - 1}, got {args.label}")
    if args.method == "nll-label":
        if args.label is None:
            raise CliError("--method nll-label needs --label C (the class to score the images given)")
        return np.full(count, args.label), f"note: scores are −log p(z | c={args.label}) in nats, given class " \
                                           f"{args.label} ({args.bundle} is class-conditional)"
    if args.label is not None:
        raise CliError("--label is only used with --method nll-label (the other scores are class-marginalised)")
    return None, (f"note: {args.bundle} is class-conditional and the inputs have no labels: the {args.method} "
                  f"score uses the class-marginalised −log p(z) = −logsumexp_c[log p(z|c) + log p(c)], "
                  f"uniform p(c) (for −log p(z | c) use --method nll-label --label C)")


def run_score(args: argparse.Namespace) -> int:
    import sys

    import torch

    from ..core.anomaly import score_images
    from ..core.data.formats import read_image_files
    if not 0 <= args.shifts <= 4:
        raise CliError(f"--shifts must be between 0 and 4, got {args.shifts}")
    bundle = _bundle_with_prior(args.bundle, "bundle")
    background = _background(args, bundle)
    files = image_files(args.inputs)
    labels, note = _labels(args, bundle.prior, len(files))
    vq = bundle.vqvae.config
    images = read_image_files([p for _, p in files], image_size=vq.image_size, grayscale=vq.in_channels == 1)
    if images.shape[1] != vq.in_channels:
        raise CliError(f"the images have {images.shape[1]} channels but the VQ-VAE expects {vq.in_channels}")
    try:
        scored = score_images(bundle.vqvae, bundle.prior, torch.from_numpy(images), background_prior=background,
                              compressor=args.compressor, shifts=args.shifts, labels=labels)
        if args.method == "combined":
            scores, fitted_on = _combined(args, bundle, background, scored.scores)
            note = (note + "; " if note else "note: ") + f"combined score fitted on {fitted_on}"
        else:
            scores = scored.scores[args.method]
    except (ValueError, RuntimeError, IndexError) as exc:    # a model that cannot score these: one line
        raise CliError(f"cannot score with {args.bundle}: {str(exc).splitlines()[0] if str(exc) else exc!r}") \
            from None
    rows = [{"name": name, "score": round(float(s), 6)} for (name, _), s in zip(files, scores)]
    if not all(math.isfinite(r["score"]) for r in rows):
        raise CliError("a score is not finite: the bundle's weights may be broken")
    if note:
        print(note, file=sys.stderr)
    print(json.dumps(rows))
    return 0


def _combined(args: argparse.Namespace, bundle, background, scores: dict):
    """The combined score of the inputs, fitted on the bundle's normal validation images (same settings)."""
    from ..core.anomaly import score_images
    from ..core.anomaly_sets import normal_images
    from ..core.combined_score import fit_combined
    normal, fitted_on = normal_images(bundle)
    fit_scores = score_images(bundle.vqvae, bundle.prior, normal.images, background_prior=background,
                              compressor=args.compressor, shifts=args.shifts).scores
    fit = fit_combined(fit_scores)
    return fit.score(scores), f"{fitted_on} ({' and '.join(fit.parts)})"
