"""``compare-quantizers``: train several discrete bottlenecks side by side, print held-out results as JSON.

    python -m explorer compare-quantizers --methods vq,ema,kmeans-restarts,rotation,fsq,gumbel \
        --num-codes 64 --steps 300 --data mnist --data-root DIR --json

The same run as the Quantizer lab panel (explorer.core.quantizer_lab): the same small encoder and
decoder for every method, the same seed and batches. Prints one JSON list of {method, mse,
codes_used, perplexity, dead_codes, seconds, ...} measured on the held-out images.
"""
from __future__ import annotations

import argparse
import json
import sys

from .common import CliError, add_data_flags, data_config_from, describe_data, field_flag, limited

# A copy of explorer.core.quantizer_lab.METHODS' names: building the parser (``--help``) must not
# import the core (torch); tests/test_quantizer_lab.py checks that they agree.
METHOD_NAMES = ("vq", "vq-normal", "ema", "kmeans", "restarts", "kmeans-restarts", "ema-kmeans-restarts", "cosine",
                "factorised", "rotation", "fsq", "gumbel")
DEFAULT_METHODS = "vq,ema,kmeans-restarts,rotation,fsq,gumbel"


def _methods(text: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in METHOD_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHOD_NAMES)}")
    if not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("name one or more methods, each once")
    return names


def add_compare_quantizers_parser(sub) -> None:
    from ..core.config import Limit
    p = sub.add_parser("compare-quantizers", help="train quantizers side by side, held-out results as JSON",
                       description="Train several discrete bottlenecks (same encoder/decoder, seed and batches) "
                                   "and print one JSON list of {method, mse, codes_used, perplexity, dead_codes, "
                                   "seconds} on the held-out images. Methods: " + ", ".join(METHOD_NAMES) + ".")
    p.add_argument("--methods", type=_methods, default=_methods(DEFAULT_METHODS), metavar="A,B,...",
                   help=f"comma-separated methods (default {DEFAULT_METHODS})")
    p.add_argument("--num-codes", type=field_flag("explorer.core.models.vqvae:VQVAEConfig", "num_codes"),
                   default=64, metavar="K", help="codebook size K of every method (default 64)")
    p.add_argument("--steps", type=limited(Limit(int, 1, 1_000_000), "steps"), default=300,
                   help="training steps per method (default 300)")
    p.add_argument("--batch-size", type=limited(Limit(int, 1, 4096), "batch_size"), default=64,
                   help="images per step, the same batch for every method (default 64)")
    p.add_argument("--lr", type=limited(Limit(float, 0, 10, low_open=True), "lr"), default=2e-3,
                   help="Adam learning rate (default 2e-3)")
    p.add_argument("--seed", type=limited(Limit(int, 0, 2 ** 63 - 1), "seed"), default=0, help="random seed (default 0)")
    p.add_argument("--eval-images", type=limited(Limit(int, 1, 1_000_000), "eval_images"), default=1000,
                   metavar="N", help="held-out images measured (default 1000)")
    p.add_argument("--json", action="store_true", help="print JSON (the only output format; kept for scripts)")
    add_data_flags(p, "mnist with a random 10% validation split")


def run_compare_quantizers(args: argparse.Namespace) -> int:
    import torch

    from ..core.data import load_data
    from ..core.quantizer_lab import LabConfig, run_lab

    torch.set_num_threads(1)
    data_cfg = data_config_from(args)
    splits = load_data(data_cfg)
    c, h, w = splits.image_shape
    if h != w:
        raise CliError(f"The images are {h}x{w} pixels; the lab needs square images: give --image-size.")
    config = LabConfig(methods=args.methods, num_codes=args.num_codes, steps=args.steps, batch_size=args.batch_size,
                       lr=args.lr, seed=args.seed, eval_images=args.eval_images, snapshot_every=0)
    print(f"Comparing {', '.join(args.methods)} (K={args.num_codes}, {args.steps} steps) on {describe_data(data_cfg)}",
          file=sys.stderr)
    results = []
    for record in run_lab(config, splits):
        if record.step % 50 == 0 or record.step == record.total_steps:
            print(f"step {record.step}/{record.total_steps}", file=sys.stderr)
        if record.results is not None:
            results = record.results
    print(json.dumps([r.as_json() for r in results], indent=2))
    return 0
