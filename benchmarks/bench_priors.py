"""Prior candidates side by side on one CPU thread: size, held-out rate, samples read as digits,
teacher-forced and sampling speed. Prints one JSON object.

    python benchmarks/bench_priors.py --data-root MNIST_DIR --judge runs/judge_oe.safetensors \\
        --candidate "today=runs/mnist-before" --candidate "one gated=runs/mnist-before#0" \\
        --candidate "transformer=trained_models/mnist"

A candidate is NAME=BUNDLE, or NAME=BUNDLE#M for member M of the bundle's ensemble on its own.
All candidates must share the VQ-VAE (the held-out codes are encoded once, with the first one's).

* ``nats_per_latent`` / ``bits_per_digit``: teacher-forced NLL on the held-out last 1 000 digits
  (a class-conditional prior gets their labels).
* ``teacher_forced_images_per_s``: one pass of ``prior.logits`` over the 1 000 held-out grids
  (batches of 500), best of ``--repeats``, candidates interleaved so machine load hits all alike.
* ``sampled_grids_per_s``: 16 grids with the cached (fast) sampler, best of ``--repeats``.
* ``samples``: ``--seeds`` x ``--per-seed`` unconditional samples at T = 1 (a conditional prior
  gets the classes in turn), decoded and read by the digit judge (``digit_judge.py``): the
  share read with confidence >= 0.9, the classes present among those. ``judge.read_as_digit``
  says how the judge reads real held-out digits, the VQ-VAE's reconstructions of them (what a
  prior drawing exactly the data's codes would score) and the far sets (noise, letters, ...):
  what its "reads as a digit" means.
* ``training_seconds``: from the bundle's history (the prior's run; an ensemble sums its members).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digit_judge import calibration, heldout_accuracy, load_or_train_judge, read_as_digit  # noqa: E402

from explorer.core.bundle import load_bundle                           # noqa: E402
from explorer.core.data import DataConfig, load_data                   # noqa: E402
from explorer.core.metrics import encode_images, evaluate_prior        # noqa: E402


def load_candidate(spec: str):
    name, _, where = spec.partition("=")
    path, _, member = where.partition("#")
    bundle = load_bundle(path, "cpu")
    if member:
        bundle.prior = bundle.prior.members[int(member)]
    return name, bundle


def training_seconds(bundle, member: str | None = None) -> float | None:
    prior = (bundle.history or {}).get("prior") or {}
    if "ensemble_of" in prior:
        parts = [((m.get("history") or {}).get("seconds") or 0) + (((m.get("history") or {}).get("resumed_from")
                 or {}).get("seconds") or 0) for m in prior["ensemble_of"]]
        return parts[int(member)] if member else sum(parts)
    total = prior.get("seconds")
    return None if total is None else total + sum(p.get("seconds", 0) for p in prior.get("continued_from", []))


def timed(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--judge", required=True, help="safetensors file of the cached digit judge")
    ap.add_argument("--recipe", choices=("oe", "small"), default="oe",
                    help="the judge to train when --judge does not exist yet (digit_judge.py)")
    ap.add_argument("--candidate", action="append", required=True, metavar="NAME=BUNDLE[#M]")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--per-seed", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    judge, judge_info = load_or_train_judge(Path(args.judge), data, recipe=args.recipe)
    result: dict = {"threads": args.threads, "judge": {**judge_info,
                                                       "heldout_accuracy": heldout_accuracy(judge, data)}}
    candidates = [load_candidate(spec) for spec in args.candidate]
    codes = encode_images(candidates[0][1].vqvae, data.val.images)                  # (1000, H, W)
    result["judge"]["read_as_digit"] = calibration(judge, data, candidates[0][1].vqvae.eval(), codes=codes)
    h, w = codes.shape[1:]
    rows = {}
    for spec, (name, bundle) in zip(args.candidate, candidates):
        prior = bundle.prior.eval()
        labels = data.val.labels if prior.config.num_classes else None
        ev = evaluate_prior(prior, codes, labels)
        member = spec.partition("#")[2] or None
        rows[name] = {"bundle": spec.partition("=")[2], "kind": prior.config.describe(),
                      "parameters": sum(p.numel() for p in prior.parameters()),
                      "nats_per_latent": round(ev["nll"], 4), "bits_per_digit": round(ev["nll"] * h * w / math.log(2), 1),
                      "training_seconds": training_seconds(bundle, member)}
        confident, classes = [], torch.zeros(10, dtype=torch.long)
        with torch.no_grad():
            for seed in range(args.seeds):
                lab = torch.arange(args.per_seed) % 10 if prior.config.num_classes else None
                grids = prior.sample(args.per_seed, temperature=1.0, labels=lab,
                                     generator=torch.Generator().manual_seed(seed))
                sure, cls = read_as_digit(judge, bundle.vqvae.decode(grids))
                confident.append(sure.float().mean().item())
                classes += torch.bincount(cls[sure], minlength=10)
        rows[name]["samples"] = {"n": args.seeds * args.per_seed, "share_read_as_digit": round(sum(confident) /
                                 len(confident), 3), "by_seed": [round(c, 3) for c in confident],
                                 "classes_present": int((classes > 0).sum()), "class_counts": classes.tolist()}
    # speed, interleaved: every candidate once per round
    speed = {name: {"tf": math.inf, "sample": math.inf} for name in rows}
    with torch.no_grad():
        for _ in range(args.repeats):
            for name, bundle in candidates:
                prior = bundle.prior
                labels = data.val.labels if prior.config.num_classes else None
                lab16 = torch.arange(16) % 10 if prior.config.num_classes else None
                speed[name]["tf"] = min(speed[name]["tf"], timed(
                    lambda: [prior.logits(c, None if labels is None else l) for c, l in
                             zip(codes.split(500), data.val.labels.split(500))], 1))
                speed[name]["sample"] = min(speed[name]["sample"], timed(
                    lambda: prior.sample(16, labels=lab16, generator=torch.Generator().manual_seed(0)), 1))
    for name in rows:
        rows[name]["teacher_forced_seconds_1000"] = round(speed[name]["tf"], 3)
        rows[name]["teacher_forced_images_per_s"] = round(len(codes) / speed[name]["tf"], 1)
        rows[name]["sampled_grids_per_s"] = round(16 / speed[name]["sample"], 1)
    first = next(iter(rows))
    for name in rows:
        rows[name]["teacher_forced_speedup_vs_" + first] = round(speed[first]["tf"] / speed[name]["tf"], 2)
    result["candidates"] = rows
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
