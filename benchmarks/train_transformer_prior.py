"""Train a transformer prior (or a gated PixelCNN) over a bundle's frozen VQ-VAE codes, with
early stopping on a validation split taken from the training digits; save it into a bundle.

    python benchmarks/train_transformer_prior.py --data-root MNIST_DIR --bundle trained_models/mnist \\
        --out runs/tf --channels 96 --layers 4 --heads 4 --mlp-ratio 2 --minutes 18

Data: the shared MNIST test set with the last 1 000 digits held out (never trained on, never
used for early stopping). Of the first 9 000, the last ``--val`` (default 500) are the
early-stopping split; the rest train, together with their copies shifted by -1..1 pixels in
each direction (9 variants, encoded with the frozen VQ-VAE: ``encode_for_prior``), and with
``--affine A`` also A randomly rotated / scaled / sheared copies of each (:func:`random_affine`;
tried once, it raised the early-stopping NLL: see benchmarks/README.md).

Schedule: AdamW (weight decay on matrices only), linear warm-up then cosine decay to 5 %; the
cosine's progress is the larger of step / ``--steps`` and elapsed / ``--minutes``, so a run on a
busy machine still anneals by its time limit. The state with the lowest validation NLL is kept.
``--init-from BUNDLE`` starts from that bundle's prior (same architecture; a class embedding it
lacks starts at zero, so an unconditional prior seeds a class-conditional one). ``--teacher
BUNDLE`` adds distillation: the loss is (1 - w) CE(codes) + w CE(teacher's conditionals), w =
``--distill``, with the teacher's log-probabilities computed once for every training grid.
Prints one JSON object at the end (also written beside --out).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from explorer.core.bundle import load_bundle
from explorer.core.data import DataConfig, load_data
from explorer.core.metrics import encode_images, evaluate_prior
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.training import encode_for_prior


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--bundle", required=True, help="bundle whose VQ-VAE (frozen) encodes the digits")
    ap.add_argument("--out", required=True, help="bundle folder to write (the VQ-VAE + the new prior)")
    ap.add_argument("--kind", default="transformer", choices=("transformer", "gated", "plain"))
    ap.add_argument("--channels", type=int, default=96)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp-ratio", type=int, default=2)
    ap.add_argument("--head-channels", type=int, default=64, help="PixelCNN kinds only")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=6000, help="length of the cosine schedule")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=18.0, help="stop (keeping the best state) after this")
    ap.add_argument("--val", type=int, default=500, help="early-stopping digits taken from the 9 000")
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--shifts", type=int, default=1)
    ap.add_argument("--affine", type=int, default=0,
                    help="also this many random affine copies of each training digit (rotation, scale, shear)")
    ap.add_argument("--class-conditional", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights-dtype", default="float16", choices=("float16", "float32"))
    ap.add_argument("--init-from", help="bundle whose prior's weights to start from")
    ap.add_argument("--teacher", help="bundle whose prior's conditionals the student also learns (distillation); "
                    "BUNDLE#M: member M of its ensemble")
    ap.add_argument("--distill", type=float, default=0.5,
                    help="with --teacher: weight of the teacher's soft targets in the loss (the rest: the codes)")
    return ap.parse_args()


def random_affine(images: torch.Tensor, copies: int, gen: torch.Generator) -> torch.Tensor:
    """``copies`` warped copies of uint8 digits (N, 1, H, W), copy-major like ``encode_for_prior``:
    rotation +-15 degrees, scale 0.85-1.15, shear +-0.2, translation +-1.5 pixels, bilinear; uint8."""
    n = images.shape[0]
    x = images.float().div(255).repeat(copies, 1, 1, 1)                                   # (A*n, 1, H, W)
    m = copies * n
    angle = (torch.rand(m, generator=gen) * 2 - 1) * math.radians(15)
    scale = 0.85 + 0.3 * torch.rand(m, generator=gen)
    shear = (torch.rand(m, generator=gen) * 2 - 1) * 0.2
    shift = (torch.rand(m, 2, generator=gen) * 2 - 1) * 1.5 * 2 / images.shape[-1]       # in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
                         torch.stack([sin, cos + shear * sin, shift[:, 1]], 1)], 1)       # (A*n, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.mul(255).round().clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def soft_targets(teacher_bundle: str, codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The teacher prior's log p(z_ij | z_<ij) for every code of every grid: (N, K, H, W) float16
    (half the memory; the targets need no more precision), teacher-forced in batches of 500.
    ``teacher_bundle`` may name one member of an ensemble prior: ``BUNDLE#M``."""
    path, _, member = teacher_bundle.partition("#")
    teacher = load_bundle(path, "cpu").prior
    teacher = (teacher.members[int(member)] if member else teacher).eval()
    cond = teacher.config.num_classes > 0
    out = []
    for start in range(0, codes.shape[0], 500):
        logits = teacher.logits(codes[start:start + 500], labels[start:start + 500] if cond else None)
        out.append(F.log_softmax(logits.float(), 1).half())
    return torch.cat(out)


def main() -> None:
    args = parse()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    bundle = load_bundle(args.bundle, "cpu")
    vqvae = bundle.vqvae.eval()
    n_fit = len(data.train) - args.val
    fit_images, fit_labels = data.train.images[:n_fit], data.train.labels[:n_fit]
    val_codes = encode_images(vqvae, data.train.images[n_fit:])
    val_labels = data.train.labels[n_fit:]
    held_codes = encode_images(vqvae, data.val.images)
    with torch.no_grad():
        train_codes = encode_for_prior(vqvae, fit_images, args.shifts)                      # (R*n, H, W)
        if args.affine:
            warped = random_affine(fit_images, args.affine, torch.Generator().manual_seed(args.seed + 1))
            train_codes = torch.cat([train_codes, encode_images(vqvae, warped)])         # (R*n + A*n, H, W)
    reps = train_codes.shape[0] // n_fit
    train_labels = fit_labels.repeat(reps)
    teacher_log_probs = soft_targets(args.teacher, train_codes, train_labels) if args.teacher else None
    k, (h, w) = vqvae.config.num_codes, train_codes.shape[1:]
    cfg = PriorConfig(kind=args.kind, num_codes=k, height=h, width=w, channels=args.channels, layers=args.layers,
                      heads=args.heads, mlp_ratio=args.mlp_ratio, head_channels=args.head_channels,
                      dropout=args.dropout, num_classes=10 if args.class_conditional else 0, positional=True)
    prior = build_prior(cfg)
    if args.init_from:
        start = load_bundle(args.init_from, "cpu").prior.state_dict()
        missing, unexpected = prior.load_state_dict(start, strict=False)
        if unexpected or any(not name.startswith("class_embed") for name in missing):
            raise SystemExit(f"--init-from has another architecture: missing {missing}, unexpected {unexpected}")
        if prior.class_embed is not None and missing:
            torch.nn.init.zeros_(prior.class_embed.weight)
    decay = [p for p in prior.parameters() if p.dim() >= 2]
    no_decay = [p for p in prior.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    cond = args.class_conditional
    gen = torch.Generator().manual_seed(args.seed)
    perm, cursor = torch.randperm(train_codes.shape[0], generator=gen), 0
    best = (math.inf, 0, None)
    log = []
    encode_s = time.perf_counter() - t_start
    t0 = time.perf_counter()
    step = 0
    print(f"{train_codes.shape[0]} training grids, {len(val_codes)} validation, {sum(p.numel() for p in prior.parameters())} "
          f"parameters, encoding took {encode_s:.0f} s", file=sys.stderr, flush=True)
    while step < args.steps and time.perf_counter() - t0 < args.minutes * 60:
        progress = min(1.0, max(step / args.steps, (time.perf_counter() - t0) / (args.minutes * 60)))
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))
        for group in opt.param_groups:
            group["lr"] = lr
        if cursor + args.batch_size > perm.numel():
            perm, cursor = torch.randperm(train_codes.shape[0], generator=gen), 0
        idx = perm[cursor:cursor + args.batch_size]
        cursor += args.batch_size
        prior.train()
        logits = prior(train_codes[idx], train_labels[idx] if cond else None)              # (B, K, H, W)
        loss = F.cross_entropy(logits, train_codes[idx])
        if teacher_log_probs is not None:                  # cross-entropy to the teacher's conditionals
            soft = -(teacher_log_probs[idx].float().exp() * F.log_softmax(logits, 1)).sum(1).mean()
            loss = (1 - args.distill) * loss + args.distill * soft
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(prior.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.val_every == 0:
            ev = evaluate_prior(prior, val_codes, val_labels if cond else None)
            log.append({"step": step, "seconds": round(time.perf_counter() - t0, 1), "loss": round(loss.item(), 4),
                        "val_nll": round(ev["nll"], 4), "lr": lr})
            print(json.dumps(log[-1]), file=sys.stderr, flush=True)
            if ev["nll"] < best[0]:
                best = (ev["nll"], step, copy.deepcopy(prior.state_dict()))
    train_s = time.perf_counter() - t0
    ev = evaluate_prior(prior, val_codes, val_labels if cond else None)
    if ev["nll"] < best[0]:
        best = (ev["nll"], step, copy.deepcopy(prior.state_dict()))
    prior.load_state_dict(best[2])
    prior.eval()
    held = evaluate_prior(prior, held_codes, data.val.labels if cond else None)
    argv = [a if a != args.data_root else "MNIST_DIR" for a in sys.argv[1:]]
    result = {"config": cfg.to_dict(), "parameters": sum(p.numel() for p in prior.parameters()),
              "training_grids": train_codes.shape[0], "steps": step, "best_step": best[1],
              "best_val_nll": best[0], "train_seconds": round(train_s, 1), "encode_seconds": round(encode_s, 1),
              "threads": args.threads, "heldout_nll": held["nll"], "heldout_accuracy": held["accuracy"],
              "heldout_bits_per_digit": held["nll"] * h * w / math.log(2),
              "command": "python " + shlex.join(["benchmarks/train_transformer_prior.py", *argv])}
    bundle.prior = prior
    bundle.weights_dtype = args.weights_dtype
    bundle.metrics = {**bundle.metrics, "prior_nll": held["nll"], "prior_bits_per_latent": held["nll"] / math.log(2),
                      "prior_accuracy": held["accuracy"]}
    bundle.history = {**bundle.history, "prior": {
        "command": result["command"], "steps": step, "best_step": best[1], "seconds": round(train_s, 1),
        "device": f"cpu ({args.threads} threads)", "validation": f"the last {args.val} of the first 9 000 digits",
        "early_stopping_val_nll": best[0], "train_config": vars(args) | {"data_root": None}, "log": log}}
    bundle.data = {**bundle.data, "root": None}
    bundle.name = Path(args.out).name
    bundle.save(args.out)
    Path(args.out + ".json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
