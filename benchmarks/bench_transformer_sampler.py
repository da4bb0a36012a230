"""Cached (key/value) vs naive sampling of the transformer prior, 7x7 grids, batch 16, one thread.
Prints one JSON object; the target is a >= 10x speed-up with identical grids for the same seed.

    python benchmarks/bench_transformer_sampler.py [--bundle trained_models/mnist] [--repeats 3]

Random-weight priors of the shipped candidate's size (96 channels, 4 blocks, MLP 2x) and of the
default ``PriorConfig(kind="transformer")``; ``--bundle``: also that bundle's prior. Each timing
is the best of ``--repeats`` (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import time_sampler                                      # noqa: E402

from explorer.core.models.pixelcnn import PriorConfig, build_prior     # noqa: E402

TARGET = 10.0


def best_of(prior, n: int, repeats: int) -> dict:
    runs = [time_sampler(prior, n) for _ in range(repeats)]
    best = {**runs[0], "naive_s": min(r["naive_s"] for r in runs), "fast_s": min(r["fast_s"] for r in runs)}
    best["speedup"] = round(best["naive_s"] / best["fast_s"], 2)
    best["identical_samples"] = all(r["identical_samples"] for r in runs)
    best["target_speedup"], best["meets_target"] = TARGET, best["speedup"] >= TARGET and best["identical_samples"]
    return best


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
        result["bundle"] = {"path": str(args.bundle), **best_of(load_bundle(args.bundle).prior, args.grids,
                                                                args.repeats)}
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
