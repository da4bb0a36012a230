"""Shared by the prior tests (imported by name, like tests/ui/tiny_latent_bundle.py)."""
from __future__ import annotations

import torch

POSITIONAL_BIASES = ("pos_bias", "pos_v", "pos_h")   # PixelCNN.pos_bias, GatedLayer.pos_v / pos_h


@torch.no_grad()
def randomize_positional_biases(prior: torch.nn.Module, seed: int | None = None) -> None:
    """Positional biases start at 0, where a test could not tell them from absent: make them matter."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    for name, param in prior.named_parameters():
        if name.split(".")[-1] in POSITIONAL_BIASES:
            param.normal_(generator=generator)
