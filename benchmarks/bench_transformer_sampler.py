"""Cached (key/value) vs naive sampling of the transformer prior, 7x7 grids, batch 16, one thread.
Prints one JSON object; the target is a >= 10x speed-up with identical grids for the same seed.

    python benchmarks/bench_transformer_sampler.py [--bundle trained_models/mnist] [--repeats 3]

Random-weight priors of the shipped candidate's size (96 channels, 4 blocks, MLP 2x) and of the
default ``PriorConfig(kind="transformer")``; ``--bundle``: also that bundle's prior. Each timing
is the best of ``--repeats`` (the machine may be shared).

``revisions``: the cached evaluator alone (49 steps, no sampling), revision 1 (kept for .dlc
format 2) against revision 2 (the default), at a batch of 16 (sampling) and 256 (the coder's
chunk), interleaved run by run so the machine's load hits both alike; median and best of
``--repeats`` (at least 5) runs each, in ms per 49 steps (a prior with class heads has only revision 2).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import time_sampler                                      # noqa: E402

from explorer.core.models.prior import PriorConfig, build_prior     # noqa: E402

TARGET = 10.0


def best_of(prior, n: int, repeats: int) -> dict:
    runs = [time_sampler(prior, n) for _ in range(repeats)]
    best = {**runs[0], "naive_s": min(r["naive_s"] for r in runs), "fast_s": min(r["fast_s"] for r in runs)}
    best["speedup"] = round(best["naive_s"] / best["fast_s"], 2)
    best["identical_samples"] = all(r["identical_samples"] for r in runs)
    best["target_speedup"], best["meets_target"] = TARGET, best["speedup"] >= TARGET and best["identical_samples"]
    return best


def evaluator_ms(prior, revision: int, n: int) -> float:
    """One pass of the cached evaluator over a 7 x 7 grid of n all-zero grids: ms."""
    h, w = prior.config.height, prior.config.width
    codes = torch.zeros(n, dtype=torch.long)
    start = time.perf_counter()
    with torch.inference_mode():
        stepper = prior.incremental(torch.zeros(n, h, w, dtype=torch.long), None, revision)
        for i in range(h):
            for j in range(w):
                stepper.logits_at(i, j)
                stepper.commit(i, j, codes)
    return (time.perf_counter() - start) * 1e3


def revisions(prior, repeats: int) -> dict:
    """Revision 1 against revision 2 of the cached evaluator, interleaved (see the module docstring)."""
    out = {}
    for n in (16, 256):
        runs = {1: [], 2: []}
        evaluator_ms(prior, 2, n)                                   # warm-up
        for _ in range(max(5, repeats)):
            for revision in (1, 2):
                runs[revision].append(evaluator_ms(prior, revision, n))
        out[f"batch_{n}"] = {f"revision_{r}_ms": {"median": round(statistics.median(v), 1), "best": round(min(v), 1)}
                             for r, v in runs.items()}
        out[f"batch_{n}"]["speedup_median"] = round(statistics.median(runs[1]) / statistics.median(runs[2]), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--grids", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    result: dict = {"torch_threads": 1, "load_average_start": [round(v, 2) for v in os.getloadavg()]}
    configs = {"candidate_96x4": PriorConfig(kind="transformer", num_codes=16, channels=96, layers=4, heads=4,
                                             mlp_ratio=2),
               "default_transformer": PriorConfig(kind="transformer")}
    for name, cfg in configs.items():
        torch.manual_seed(0)
        result[name] = best_of(build_prior(cfg).eval(), args.grids, args.repeats)
    if args.bundle is not None:
        from explorer.core.bundle import load_bundle
        prior = load_bundle(args.bundle).prior
        result["bundle"] = {"path": str(args.bundle), **best_of(prior, args.grids, args.repeats)}
        if prior.config.kind == "transformer" and not prior.config.num_classes and not prior.config.class_heads:
            result["revisions"] = revisions(prior, args.repeats)
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
