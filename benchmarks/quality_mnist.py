"""Quality of a shipped MNIST bundle on the held-out 1 000 digits, printed as JSON.

    python benchmarks/quality_mnist.py --bundle trained_models/mnist --data-root ../shared/data/mnist

Reports reconstruction MSE (pixels in [0, 1]), codebook use, prior NLL (nats per latent) and
accuracy, and whether prior samples read as digits: a small CNN classifier is trained on the
first 9 000 digits (the same data as the models), then classifies 100 decoded prior samples;
we report the share classified with confidence >= 0.9 and the classes that appear.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from explorer.core.bundle import load_bundle
from explorer.core.data import DataConfig, load_data
from explorer.core.metrics import encode_images, evaluate_prior, evaluate_vqvae


class DigitClassifier(nn.Module):
    """A small CNN (about 99% held-out accuracy on MNIST) used only to judge samples."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 4, seed: int = 0) -> DigitClassifier:
    torch.manual_seed(seed)
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(images.shape[0], generator=gen)
        for start in range(0, images.shape[0], 128):
            idx = perm[start:start + 128]
            x = images[idx].float() / 255.0
            shift = torch.randint(-2, 3, (2,), generator=gen)           # light augmentation
            x = torch.roll(x, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default="trained_models/mnist")
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperature", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    bundle = load_bundle(args.bundle)
    t0 = time.perf_counter()
    result: dict = {"bundle": str(args.bundle), "K": bundle.vqvae.config.num_codes,
                    "grid": [bundle.vqvae.config.grid_size] * 2, "heldout_images": len(data.val)}
    result["vqvae"] = evaluate_vqvae(bundle.vqvae, data.val.images)
    if bundle.prior is not None:
        codes = encode_images(bundle.vqvae, data.val.images)
        conditional = bool(bundle.prior.config.num_classes)             # a class-conditional prior needs labels
        result["prior"] = evaluate_prior(bundle.prior, codes, data.val.labels if conditional else None)
        result["prior"]["nats_per_image"] = result["prior"]["nll"] * codes[0].numel()
        clf = train_classifier(data.train.images, data.train.labels, seed=args.seed)
        with torch.no_grad():
            acc = (clf(data.val.float_images()).argmax(1) == data.val.labels).float().mean().item()
            g = torch.Generator().manual_seed(args.seed)
            labels = torch.arange(args.samples) % 10 if conditional else None   # each class in turn
            grids = bundle.prior.sample(args.samples, temperature=args.temperature, labels=labels, generator=g)
            probs = F.softmax(clf(bundle.vqvae.decode(grids)), dim=1)
        conf, cls = probs.max(1)
        result["samples"] = {
            "n": args.samples, "temperature": args.temperature, "classifier_heldout_accuracy": acc,
            "share_confident_0.9": (conf >= 0.9).float().mean().item(),
            "class_counts": torch.bincount(cls, minlength=10).tolist(),
            "classes_present": int((torch.bincount(cls, minlength=10) > 0).sum()),
            "class_counts_confident": torch.bincount(cls[conf >= 0.9], minlength=10).tolist(),
        }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
