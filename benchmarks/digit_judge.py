"""The digit judge: a small CNN that reads MNIST digits, and how often class-conditional samples
read as the class they were asked for. Prints one JSON object.

    python benchmarks/digit_judge.py --data-root ../shared/data/mnist --judge runs/judge.safetensors
    python benchmarks/digit_judge.py --data-root ../shared/data/mnist --judge runs/judge.safetensors \\
        --bundle trained_models/mnist-classes --per-class 100 --temperature 1.0

The judge is ``DigitClassifier`` / ``train_classifier`` from ``quality_mnist.py`` (the same
network and recipe), trained on the first 9 000 digits of the shared MNIST test set and cached
as a safetensors file under ``--judge`` (loading it runs no code); it reports its accuracy on
the held-out last 1 000. With ``--bundle`` (a class-conditional prior), it samples
``--per-class`` grids for each class c at ``--temperature``, decodes them with the bundle's
VQ-VAE and reports the share the judge reads as c, per class and over all classes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))        # run as a script or imported from elsewhere
from quality_mnist import DigitClassifier, train_classifier     # noqa: E402  (one judge, not two)

from explorer.core.bundle import load_bundle                    # noqa: E402
from explorer.core.data import DataConfig, DataSplits, load_data  # noqa: E402


def heldout_accuracy(judge: DigitClassifier, data: DataSplits) -> float:
    """Share of the held-out digits the judge labels correctly."""
    with torch.no_grad():
        return (judge(data.val.float_images()).argmax(1) == data.val.labels).float().mean().item()


def load_or_train_judge(path: Path, data: DataSplits, seed: int = 0, epochs: int = 4,
                        retrain: bool = False) -> tuple[DigitClassifier, dict]:
    """The cached judge at ``path``, or a new one trained on ``data.train`` and saved there atomically."""
    t0 = time.perf_counter()
    if path.exists() and not retrain:
        judge = DigitClassifier()
        judge.load_state_dict(load_file(str(path)))
        return judge.eval(), {"judge": str(path), "cached": True}
    torch.manual_seed(seed)
    judge = train_classifier(data.train.images, data.train.labels, epochs=epochs, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in judge.state_dict().items()}, str(tmp),
              metadata={"seed": str(seed), "epochs": str(epochs), "train_images": str(len(data.train))})
    os.replace(tmp, path)
    return judge, {"judge": str(path), "cached": False, "train_seconds": round(time.perf_counter() - t0, 1),
                   "seed": seed, "epochs": epochs}


def class_match(bundle, judge: DigitClassifier, per_class: int, temperature: float, seed: int,
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
    ap.add_argument("--bundle", help="bundle with a class-conditional prior to judge")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0, help="sampling seed")
    args = ap.parse_args()
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    judge, result = load_or_train_judge(Path(args.judge), data, seed=args.judge_seed, retrain=args.retrain)
    result["heldout_accuracy"] = heldout_accuracy(judge, data)
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
