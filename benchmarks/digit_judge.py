"""The digit judge: a small CNN that reads MNIST digits, and how often class-conditional samples
read as the class they were asked for. Prints one JSON object.

    python benchmarks/digit_judge.py --data-root ../shared/data/mnist --judge runs/judge_oe.safetensors \\
        --report trained_models/mnist
    python benchmarks/digit_judge.py --data-root ../shared/data/mnist --judge runs/judge_oe.safetensors \\
        --bundle trained_models/mnist-classes --per-class 100 --temperature 1.0

The judge is trained on the first 9 000 digits of the shared MNIST test set and cached as a
safetensors file under ``--judge`` (loading it runs no code; the file names its recipe, below);
it reports its accuracy on the held-out last 1 000. With ``--bundle`` (a class-conditional
prior), it samples ``--per-class`` grids for each class c at ``--temperature``, decodes them
with the bundle's VQ-VAE and reports the share the judge reads as c, per class and over all
classes.

Two judges (``--recipe``):

* ``oe`` (the default): ``DigitJudge``, four 3x3 conv layers with batch norm, trained 15 epochs on
  randomly warped digits (rotation +-12 degrees, scale +-10 %, shear, shift +-2.5 px) with
  *outlier exposure* (Hendrycks et al., ICLR 2019): beside each batch of digits it sees a batch of
  generated non-digits (noise, smooth blobs, flat grey levels, two digits drawn over each other,
  digits cut into 7x7 patches and shuffled) and is trained to spread its belief evenly over the ten
  classes on them, so "confidence >= 0.9" means "reads as one digit", not merely "is closest to one".
  Letters, inverted and rotated digits (``explorer.core.far_sets``) are never trained on: they test it.
* ``small``: ``quality_mnist``'s ``DigitClassifier`` (4 epochs, shifts only), the judge of earlier
  runs. It reads only 91.5 % of the real held-out digits with confidence >= 0.9 and every
  uniform-noise image as a digit, so it can neither see a perfect prior nor catch a noisy one.

``--report`` prints how the judge reads real held-out digits, the VQ-VAE's reconstructions of
them (what a prior drawing exactly the data's codes would score) and every far set: what a
sample share read by it means.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))        # run as a script or imported from elsewhere
from quality_mnist import DigitClassifier, train_classifier     # noqa: E402  (one judge, not two)

from explorer.core.bundle import load_bundle                    # noqa: E402
from explorer.core.data import DataConfig, DataSplits, load_data  # noqa: E402
from explorer.core.far_sets import FAR_KINDS, far_images          # noqa: E402

RECIPES = ("oe", "small")


class DigitJudge(nn.Module):
    """Reads a 28x28 digit: (B, 1, 28, 28) in [0, 1] -> (B, 10) logits (99.0-99.5 % held-out accuracy)."""

    def __init__(self) -> None:
        super().__init__()

        def conv(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.net = nn.Sequential(
            *conv(1, 32), *conv(32, 32), nn.MaxPool2d(2),            # (B, 32, 14, 14)
            *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2),           # (B, 64, 7, 7)
            nn.Flatten(), nn.Dropout(0.4), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(0.4),
            nn.Linear(256, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def warp(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random small affine warps of (B, 1, H, W): rotation, scale, shear and shift, as handwriting varies."""
    n = x.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=g) * 2 - 1                     # noqa: E731  uniform(-1, 1)
    angle, scale, shear, shift = u(n) * math.radians(12), 1 + u(n) * 0.1, u(n) * 0.15, u(n, 2) * (2.5 / 14)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)              # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def non_digits(digits: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """As many generated non-digits as ``digits`` (B, 1, 28, 28), a mix of six kinds, for outlier exposure."""
    n = digits.shape[0]
    kind = torch.randint(0, 6, (n,), generator=g)
    r = lambda *shape: torch.rand(*shape, generator=g)                             # noqa: E731
    uniform = r(n, 1, 28, 28)
    gauss = (r(n, 1, 1, 1) * 0.5 + r(n, 1, 1, 1) * 0.5 * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)
    blobs = F.interpolate(r(n, 1, 7, 7), size=28, mode="bilinear", align_corners=False)
    blobs = ((blobs - r(n, 1, 1, 1) * 0.5) * 4).clamp(0, 1)                       # smooth random ink
    flat = r(n, 1, 1, 1).expand(n, 1, 28, 28)
    other = digits[torch.randperm(n, generator=g)]
    dx, dy = torch.randint(-6, 7, (2,), generator=g).tolist()
    pair = torch.maximum(digits, torch.roll(other, (dy, dx), dims=(2, 3)))       # two digits over each other
    patches = digits.unfold(2, 7, 7).unfold(3, 7, 7).reshape(n, 16, 7, 7)         # (B, 16, 7, 7)
    patches = patches[:, torch.randperm(16, generator=g)].reshape(n, 4, 4, 7, 7)
    shuffled = patches.permute(0, 1, 3, 2, 4).reshape(n, 1, 28, 28)                # patches in a new order
    every = torch.stack([uniform, gauss, blobs, flat, pair, shuffled])             # (6, B, 1, 28, 28)
    return every[kind, torch.arange(n)]


def train_judge(images: torch.Tensor, labels: torch.Tensor, epochs: int = 15, seed: int = 0,
                outlier_weight: float = 0.5) -> DigitJudge:
    """DigitJudge on uint8 (N, 1, 28, 28) digits: cross-entropy on warped digits plus ``outlier_weight`` x
    the cross-entropy of generated non-digits to the uniform distribution (outlier exposure); one-cycle AdamW."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    judge = DigitJudge()
    x_all = images.float() / 255.0
    steps = epochs * math.ceil(len(x_all) / 128)
    opt = torch.optim.AdamW(judge.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    judge.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x_all), generator=g)
        for start in range(0, len(x_all), 128):
            idx = perm[start:start + 128]
            x = warp(x_all[idx], g)
            logits = judge(torch.cat([x, non_digits(x, g)]) if outlier_weight else x)
            loss = F.cross_entropy(logits[:len(idx)], labels[idx])
            if outlier_weight:                                 # cross-entropy to uniform on the non-digits
                loss = loss - outlier_weight * F.log_softmax(logits[len(idx):], 1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return judge.eval()


def heldout_accuracy(judge: nn.Module, data: DataSplits) -> float:
    """Share of the held-out digits the judge labels correctly."""
    with torch.no_grad():
        return (judge(data.val.float_images()).argmax(1) == data.val.labels).float().mean().item()


def load_or_train_judge(path: Path, data: DataSplits, seed: int = 0, epochs: int | None = None,
                        retrain: bool = False, recipe: str = "oe", outlier_weight: float = 0.5
                        ) -> tuple[nn.Module, dict]:
    """The cached judge at ``path`` (its recipe read from the file), or a new one of ``recipe`` trained
    on ``data.train`` and saved there atomically."""
    t0 = time.perf_counter()
    if path.exists() and not retrain:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        cached = meta.get("recipe", "small")                     # files from before recipes were small judges
        judge = DigitJudge() if cached == "oe" else DigitClassifier()
        judge.load_state_dict(load_file(str(path)))
        return judge.eval(), {"judge": str(path), "cached": True, "recipe": cached}
    if recipe not in RECIPES:
        raise ValueError(f"unknown judge recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    epochs = epochs or (15 if recipe == "oe" else 4)
    torch.manual_seed(seed)
    if recipe == "oe":
        judge = train_judge(data.train.images, data.train.labels, epochs=epochs, seed=seed,
                            outlier_weight=outlier_weight)
    else:
        judge = train_classifier(data.train.images, data.train.labels, epochs=epochs, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    meta = {"seed": str(seed), "epochs": str(epochs), "train_images": str(len(data.train)), "recipe": recipe}
    if recipe == "oe":
        meta["outlier_weight"] = str(outlier_weight)
    save_file({k: v.contiguous() for k, v in judge.state_dict().items()}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    info = {"judge": str(path), "cached": False, "recipe": recipe}
    if recipe == "oe":
        info["outlier_weight"] = outlier_weight
    return judge, {**info, "train_seconds": round(time.perf_counter() - t0, 1), "seed": seed, "epochs": epochs}


def read_as_digit(judge: nn.Module, images: torch.Tensor, threshold: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """(confident, class) for float images (B, 1, 28, 28): confident = the judge's top probability >= threshold."""
    with torch.no_grad():
        conf, cls = F.softmax(judge(images), 1).max(1)
    return conf >= threshold, cls


def calibration(judge: nn.Module, data: DataSplits, vqvae=None, n_far: int = 200,
                codes: torch.Tensor | None = None) -> dict:
    """Share read as a digit (confidence >= 0.9) of the real held-out digits, of their VQ-VAE
    reconstructions (what a prior drawing exactly the data's codes would score) and of every far
    set. ``codes``: the held-out digits' code grids (N, h, w) when the caller has them already."""
    out = {}
    real = data.val.float_images()
    out["real_heldout"] = read_as_digit(judge, real)[0].float().mean().item()
    if vqvae is not None:
        with torch.no_grad():
            grids = vqvae.encode(real) if codes is None else codes
            out["reconstructions"] = read_as_digit(judge, vqvae.decode(grids))[0].float().mean().item()
    ref = data.val.images.numpy()
    for kind in FAR_KINDS:
        far = torch.from_numpy(np.asarray(far_images(kind, ref, n_far))).float() / 255.0
        out[f"far:{kind}"] = read_as_digit(judge, far)[0].float().mean().item()
    return {k: round(v, 4) for k, v in out.items()}


def class_match(bundle, judge: nn.Module, per_class: int, temperature: float, seed: int,
                num_classes: int = 10) -> dict:
    """Sample ``per_class`` grids for every class, decode, and count how many the judge reads as that class."""
    g = torch.Generator().manual_seed(seed)
    rows, counts = [], []
    with torch.no_grad():
        for c in range(num_classes):
            grids = bundle.prior.sample(per_class, temperature=temperature, labels=c, generator=g)  # (n, H, W)
            read = judge(bundle.vqvae.decode(grids)).argmax(1)                                      # (n,)
            rows.append((read == c).float().mean().item())
            counts.append(torch.bincount(read, minlength=num_classes).tolist())
    return {"per_class": per_class, "temperature": temperature, "seed": seed,
            "share_read_as_requested": sum(rows) / len(rows),
            "share_by_class": [round(r, 3) for r in rows],
            "judge_readings_by_class": counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True, help="folder with the MNIST IDX .gz files")
    ap.add_argument("--judge", required=True, help="safetensors file the judge is cached in")
    ap.add_argument("--retrain", action="store_true", help="train the judge even if the file exists")
    ap.add_argument("--judge-seed", type=int, default=0)
    ap.add_argument("--recipe", choices=RECIPES, default="oe", help="which judge to train (see above)")
    ap.add_argument("--outlier-weight", type=float, default=0.5,
                    help="oe recipe: weight of the non-digits' loss (0: the same judge without them)")
    ap.add_argument("--report", metavar="BUNDLE", help="also print the judge's calibration: real held-out "
                    "digits, BUNDLE's reconstructions of them, every far set")
    ap.add_argument("--bundle", help="bundle with a class-conditional prior to judge")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0, help="sampling seed")
    args = ap.parse_args()
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    judge, result = load_or_train_judge(Path(args.judge), data, seed=args.judge_seed, retrain=args.retrain,
                                        recipe=args.recipe, outlier_weight=args.outlier_weight)
    result["heldout_accuracy"] = heldout_accuracy(judge, data)
    if args.report:
        result["read_as_digit"] = calibration(judge, data, load_bundle(args.report).vqvae.eval())
    result["heldout_images"] = len(data.val)
    result["torch_threads"] = torch.get_num_threads()
    if args.bundle:
        bundle = load_bundle(args.bundle)
        if bundle.prior is None or not bundle.prior.config.num_classes:
            raise SystemExit(f"{args.bundle} has no class-conditional prior.")
        t0 = time.perf_counter()
        result["bundle"] = args.bundle
        result["samples"] = class_match(bundle, judge, args.per_class, args.temperature, args.seed,
                                        bundle.prior.config.num_classes)
        result["samples"]["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
