"""Core benchmark: decode latency, naive vs fast raster sampling, VQ-VAE training throughput.

Prints one JSON object on stdout and nothing else (progress, if any, goes to stderr).

    python benchmarks/bench_core.py                      # default configs, one CPU thread
    python benchmarks/bench_core.py --bundle trained_models/mnist     # also its decoder and prior
    python benchmarks/bench_core.py --threads 2 --train-steps 40

Targets (reported as ``targets`` in the JSON):
  * one 7 x 7 code grid decodes in <= 2 ms on one CPU thread (default ``VQVAEConfig()``);
  * the fast (cached, incremental) sampler is >= 5x faster than the naive one
    (one full forward pass per position) for 16 grids of 7 x 7 on the default prior.
Timings are wall-clock on a possibly shared machine: ``load_average_start`` records how
busy it was.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core.data import DataSplits, ImageSet
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.training import VQVAETrainConfig, train_vqvae
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = REPO.parent / "shared" / "data" / "mnist"
DECODE_TARGET_MS = 2.0
SPEEDUP_TARGET = 5.0


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def _time_calls(fn, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {"median_ms": round(statistics.median(times), 4), "p95_ms": round(_percentile(times, 95), 4),
            "min_ms": round(times[0], 4), "runs": runs}


@torch.inference_mode()
def bench_decode(vqvae: VQVAE, runs: int, warmup: int, seed: int = 0) -> dict:
    """Latency of vqvae.decode on one code grid, plus a per-layer breakdown of the decoder."""
    vqvae = vqvae.cpu().eval()
    g = vqvae.config.grid_size
    codes = torch.randint(0, vqvae.config.num_codes, (1, g, g), generator=torch.Generator().manual_seed(seed))
    result = {"grid": [g, g], **_time_calls(lambda: vqvae.decode(codes), runs, warmup)}
    # per-layer medians: feed each decoder layer the activation it sees in a real decode
    x = vqvae.quantizer.lookup(codes)
    layers = []
    for idx, layer in enumerate(vqvae.decoder.net):
        inp = x
        stats = _time_calls(lambda: layer(inp), max(50, runs // 4), 10)
        layers.append({"index": idx, "layer": _describe(layer), "median_ms": stats["median_ms"]})
        x = layer(inp)
    total = sum(item["median_ms"] for item in layers) or 1.0
    for item in layers:
        item["share"] = round(item["median_ms"] / total, 3)
    result["lookup"] = _time_calls(lambda: vqvae.quantizer.lookup(codes), max(50, runs // 4), 10)["median_ms"]
    result["decoder_layers"] = sorted(layers, key=lambda item: -item["median_ms"])
    result["target_ms"] = DECODE_TARGET_MS
    result["meets_target"] = result["median_ms"] <= DECODE_TARGET_MS
    return result


def _describe(layer: torch.nn.Module) -> str:
    if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
        return (f"{type(layer).__name__}({layer.in_channels}->{layer.out_channels}, k={layer.kernel_size[0]}, "
                f"s={layer.stride[0]})")
    if type(layer).__name__ == "ResidualBlock":
        return f"ResidualBlock({layer.conv3.in_channels}, hidden={layer.conv3.out_channels})"
    return type(layer).__name__


def bench_sampler(kind: str, n: int, seed: int = 0) -> dict:
    """Wall time of naive and fast sampling of n grids from the default prior of this kind."""
    torch.manual_seed(seed)
    return time_sampler(build_prior(PriorConfig(kind=kind)).eval(), n, seed)


def time_sampler(prior: torch.nn.Module, n: int, seed: int = 0) -> dict:
    """Wall time of naive and fast sampling of n grids from ``prior``, and whether they agree."""
    c = prior.config
    prior.sample(1, generator=torch.Generator().manual_seed(seed), method="fast")     # warm-up
    out = {}
    samples = {}
    for method in ("naive", "fast"):
        t0 = time.perf_counter()
        samples[method] = prior.sample(n, generator=torch.Generator().manual_seed(seed), method=method)
        out[f"{method}_s"] = round(time.perf_counter() - t0, 4)
    return {"kind": c.kind, "prior": c.describe(), "grids": n, "grid": [c.height, c.width],
            "channels": c.channels, "layers": c.layers,
            "parameters": sum(p.numel() for p in prior.parameters()), **out,
            "speedup": round(out["naive_s"] / out["fast_s"], 2),
            "identical_samples": bool(torch.equal(samples["naive"], samples["fast"])),
            "target_speedup": SPEEDUP_TARGET, "meets_target": out["naive_s"] / out["fast_s"] >= SPEEDUP_TARGET}


def _mnist(root: Path) -> tuple[torch.Tensor, str]:
    try:
        with gzip.open(root / "t10k-images-idx3-ubyte.gz", "rb") as f:
            images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
        return torch.from_numpy(images.copy()), f"mnist ({root})"
    except OSError:
        g = torch.Generator().manual_seed(0)
        return torch.randint(0, 256, (10000, 1, 28, 28), generator=g, dtype=torch.uint8), "random uint8 (no MNIST)"


def bench_training(mnist_root: Path, steps: int, batch: int, skip: int = 3) -> dict:
    """Images per second of train_vqvae with the default VQVAEConfig (first ``skip`` steps excluded)."""
    images, source = _mnist(mnist_root)
    labels = torch.zeros(images.shape[0], dtype=torch.long)
    data = DataSplits(ImageSet(images[:9000], labels[:9000]), ImageSet(images[9000:9064], labels[9000:9064]))
    cfg = VQVAETrainConfig(model=VQVAEConfig(), max_steps=steps, batch_size=batch, val_every=10 ** 9,
                           preview_size=0, seed=0)
    stamps = []
    for record in train_vqvae(cfg, data, device="cpu"):
        stamps.append(time.perf_counter())
        if record.step == steps - 1:      # the last step also runs validation: leave it out
            break
    timed = stamps[skip:]
    seconds = timed[-1] - timed[0]
    n_images = (len(timed) - 1) * batch
    return {"data": source, "batch_size": batch, "timed_steps": len(timed) - 1, "warmup_steps_skipped": skip,
            "images_per_s": round(n_images / seconds, 1), "s_per_step": round(seconds / (len(timed) - 1), 4),
            "torch_threads": torch.get_num_threads(), "device": "cpu"}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, help="also time decoding with this bundle's VQ-VAE")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--decode-runs", type=int, default=300)
    ap.add_argument("--grids", type=int, default=16, help="grids per sampler run")
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--mnist", type=Path, default=DEFAULT_MNIST)
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args(argv)
    if args.decode_runs < 200:
        ap.error("--decode-runs must be >= 200")

    torch.set_num_threads(args.threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result: dict = {
        "benchmark": "bench_core",
        "torch": torch.__version__, "python": platform.python_version(), "device": "cpu",
        "cuda_available": torch.cuda.is_available(), "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
        "load_average_start": [round(v, 2) for v in load] if load else None,
    }
    torch.manual_seed(0)
    result["decode_default"] = bench_decode(VQVAE(VQVAEConfig()), args.decode_runs, warmup=30)
    if args.bundle is not None:
        from explorer.core.bundle import load_bundle      # lazy: optional and heavier

        bundle = load_bundle(args.bundle, device="cpu")
        result["decode_bundle"] = {"path": str(args.bundle), "config": bundle.vqvae.config.to_dict(),
                                   **bench_decode(bundle.vqvae, args.decode_runs, warmup=30)}
        if bundle.prior is not None:
            result["sampler_bundle"] = {"path": str(args.bundle), **time_sampler(bundle.prior, args.grids)}
    result["sampler"] = {kind: bench_sampler(kind, args.grids) for kind in ("gated", "plain")}
    if not args.skip_training:
        result["training"] = bench_training(args.mnist, args.train_steps, args.train_batch)
    result["targets"] = {
        "decode_7x7_le_2ms_one_thread": result["decode_default"]["meets_target"],
        "fast_sampler_ge_5x_gated": result["sampler"]["gated"]["meets_target"],
        "fast_sampler_ge_5x_plain": result["sampler"]["plain"]["meets_target"],
    }
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result["load_average_end"] = [round(v, 2) for v in load] if load else None
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
    sys.stdout.flush()
