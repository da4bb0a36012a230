"""How fast the default ``train vqvae`` configuration reaches held-out MSE <= 0.010 (JSON).

    python benchmarks/bench_train_speed.py --data-root ../shared/data/mnist [--device cpu] [--budget 300]

Trains the default VQVAETrainConfig on the first 9 000 shared MNIST digits and validates on
the last 1 000 every ``--val-every`` steps, until the budget (seconds of training, validation
time excluded) runs out. Prints the time and step at which held-out MSE first reached 0.010
and 0.005, images/s, and the MSE curve.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from explorer.core.data import DataConfig, load_data
from explorer.core.device import describe_device, pick_device
from explorer.core.metrics import evaluate_vqvae
from explorer.core.training import VQVAETrainConfig, train_vqvae


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds of training")
    ap.add_argument("--val-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    config = VQVAETrainConfig()
    curve, reached, train_time, last_mark = [], {}, 0.0, time.perf_counter()
    steps = 0
    for record in train_vqvae(config, data, device):
        steps = record.step
        if record.step % args.val_every == 0:
            train_time += time.perf_counter() - last_mark
            mse = evaluate_vqvae(record.model, data.val.images)["mse"]
            curve.append({"step": record.step, "seconds": round(train_time, 1), "mse": round(mse, 5)})
            for target in (0.010, 0.005):
                if mse <= target and str(target) not in reached:
                    reached[str(target)] = {"seconds": round(train_time, 1), "step": record.step}
            last_mark = time.perf_counter()
            if train_time >= args.budget:
                break
    print(json.dumps({
        "benchmark": "train_speed", "device": describe_device(device), "threads": args.threads,
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "torch": torch.__version__, "batch_size": config.batch_size, "steps": steps,
        "images_per_s": round(steps * config.batch_size / max(train_time, 1e-9), 1),
        "reached": reached, "curve": curve}, indent=2))


if __name__ == "__main__":
    main()
