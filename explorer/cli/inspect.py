"""``sample`` (prior samples decoded into a PNG grid) and ``evaluate`` (held-out metrics as JSON)."""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..core.bundle import load_bundle
from ..core.data import load_data
from ..core.device import pick_device
from ..core.metrics import encode_images, evaluate_prior, evaluate_vqvae
from .common import (CliError, ProgressBar, check_data_settings, check_image_shape, check_output_file,
                     data_config_from, describe_data, prior_metrics)

MAX_GRID_PIXELS = 64 << 20          # pixels (times channels) of the PNG grid and of the decoded batch


def _device(name: str) -> torch.device:
    try:
        return pick_device(name)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def image_grid(images: np.ndarray, nrow: int, padding: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) -> one uint8 (rows*(H+p)+p, cols*(W+p)+p, C) image, black padding.

    ``cols = min(nrow, N)`` images per row and ``rows = ceil(N / cols)``, filled row by row.
    """
    n, c, h, w = images.shape
    cols = max(1, min(nrow, n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, c), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = images[i].transpose(1, 2, 0)
    return grid


def save_png(grid: np.ndarray, out: Path) -> None:
    """Write an (H, W, 1|3) uint8 array as a PNG (atomically, umask honoured), creating the folder if needed."""
    from PIL import Image

    from ..core.safe_io import UnsafeOutput, write_file_atomically

    out.parent.mkdir(parents=True, exist_ok=True)
    mode_image = Image.fromarray(grid[:, :, 0], mode="L") if grid.shape[2] == 1 else Image.fromarray(grid, "RGB")
    try:
        write_file_atomically(out, lambda f: mode_image.save(f, format="PNG"))
    except UnsafeOutput as exc:
        raise CliError(f"--out {exc}.") from None


def run_sample(args: argparse.Namespace) -> int:
    """``sample``: n prior samples, decoded, saved as a PNG grid."""
    if args.n < 1 or args.nrow < 1 or args.padding < 0:
        raise CliError("--n and --nrow must be at least 1 and --padding at least 0.")
    if args.temperature < 0 or not math.isfinite(args.temperature):
        raise CliError(f"--temperature must be a finite number >= 0, got {args.temperature}.")
    if args.top_k is not None and args.top_k < 1:
        raise CliError(f"--top-k must be at least 1, got {args.top_k}.")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise CliError(f"--out must name a .png file, got {out.name}.")
    check_output_file(out)
    device = _device(args.device)
    bundle = load_bundle(args.bundle, device)
    prior = bundle.prior
    if prior is None:
        raise CliError(f"The bundle {args.bundle} has no prior to sample from. Train one first:\n"
                       f"  python -m explorer train prior --bundle {args.bundle}")
    vq_cfg = bundle.vqvae.config
    side, c = vq_cfg.image_size, vq_cfg.in_channels
    cols = min(args.nrow, args.n)
    rows = math.ceil(args.n / cols)
    grid_pixels = (rows * (side + args.padding) + args.padding) * (cols * (side + args.padding) + args.padding) * c
    if max(grid_pixels, args.n * side * side * c) > MAX_GRID_PIXELS:
        raise CliError(f"{args.n} samples of {side}x{side} pixels with --nrow {args.nrow} and --padding "
                       f"{args.padding} make a {grid_pixels:,}-value image, more than the {MAX_GRID_PIXELS:,} "
                       f"allowed: lower --n or --padding.")
    classes = prior.config.num_classes
    if classes:
        if args.label is not None and not 0 <= args.label < classes:
            raise CliError(f"--label must be between 0 and {classes - 1} for this prior.")
        labels = (torch.full((args.n,), args.label, dtype=torch.long) if args.label is not None
                  else torch.arange(args.n) % classes)
    else:
        if args.label is not None:
            raise CliError("This prior is not class-conditional: leave out --label.")
        labels = None
    generator = torch.Generator().manual_seed(args.seed)
    bar, start, last = ProgressBar(), time.monotonic(), None
    with torch.no_grad():
        # prior.sample() is these raster steps run to the end; stepping shows progress as it goes.
        for last in prior.steps(args.n, temperature=args.temperature, top_k=args.top_k, generator=generator,
                                labels=labels):
            done, total = last.t + 1, last.grid[0].numel()
            elapsed = time.monotonic() - start
            bar.update(done, total, f"sampling {args.n} code grids", elapsed / done * (total - done))
        bar.finish()
        images = bundle.vqvae.decode(last.grid).cpu()
    pixels = (images * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
    grid = image_grid(pixels, args.nrow, args.padding)
    save_png(grid, out)
    print(f"Wrote {out}: {args.n} samples, {grid.shape[1]}x{grid.shape[0]} pixels")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: held-out metrics of the bundle's models, printed as JSON on stdout."""
    device = _device(args.device)
    bundle = load_bundle(args.bundle, device)
    data_cfg = data_config_from(args, bundle.data)
    check_data_settings(data_cfg, bundle.vqvae.config.in_channels, bundle.vqvae.config.image_size)
    splits = load_data(data_cfg)
    val = splits.val
    if len(val) == 0:
        raise CliError("These data settings leave no held-out images: use --holdout-last N or --val-fraction.")
    vq_cfg = bundle.vqvae.config
    check_image_shape(splits.image_shape, vq_cfg.in_channels, vq_cfg.image_size)
    stages, bar = (2 if bundle.prior is not None else 1), ProgressBar()   # after the checks: errors stay one line
    bar.update(0, stages, f"reconstructing {len(val)} held-out images", math.nan, force=True)
    vq = evaluate_vqvae(bundle.vqvae, val.images)
    report: dict = {
        "bundle": str(bundle.path), "data": describe_data(data_cfg), "data_config": data_cfg.to_dict(),
        "n_images": len(val), "mse": vq["mse"], "perplexity": vq["perplexity"], "codes_used": vq["codes_used"],
        "codes_used_count": vq["codes_used_count"], "num_codes": vq_cfg.num_codes,
    }
    if bundle.prior is not None:
        classes = bundle.prior.config.num_classes
        labels = val.labels if classes else None
        if labels is not None and (int(labels.min()) < 0 or int(labels.max()) >= classes):
            bar.finish()
            raise CliError(f"The prior is conditioned on {classes} classes but these images have labels "
                           f"{int(labels.min())}..{int(labels.max())}.")
        bar.update(1, stages, f"prior likelihood of {len(val)} held-out code grids", math.nan, force=True)
        ev = evaluate_prior(bundle.prior, encode_images(bundle.vqvae, val.images), labels)
        report.update(prior_metrics(ev))
    bar.update(stages, stages, "done", 0.0, force=True)
    bar.finish()
    print(json.dumps(report, indent=2))
    return 0
