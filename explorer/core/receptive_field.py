"""Which earlier cells a prior's prediction at (i, j) can depend on (notes, "Causal convolutions").

Two views of the causal structure:

* :func:`first_layer_field`: the cells the first layer reads, straight from its masks (type A:
  rows above and the current row strictly left; the current position is excluded).
* :func:`measured_receptive_field`: the full receptive field of the whole stack, *measured*
  from the model: the cells whose input embedding has a non-zero gradient in the logits at
  (i, j). Masked weights are exact zeros, so cells the stack cannot see get exactly 0.

The plain PixelCNN has a blind spot up and to the right of (i, j); the gated one (vertical +
horizontal stacks) has none, and neither has the causal transformer, whose first layer already
attends to every earlier cell. Connectivity does not depend on training, so an untrained prior
of the same grid size (:func:`companion_prior`) shows each other kind.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .models.masked_conv import MaskedConv2d
from .models.ensemble import PriorEnsemble
from .models.pixelcnn import GatedPixelCNN, PixelCNN
from .models.prior import build_prior
from .models.transformer_prior import TransformerPrior

KINDS = ("plain", "gated", "transformer")     # the prior kinds the causal view can show


def single_prior(prior) -> PixelCNN | GatedPixelCNN | TransformerPrior:
    """The prior itself, or an ensemble's first member (all members share the architecture)."""
    return prior.members[0] if isinstance(prior, PriorEnsemble) else prior


def prior_kind(prior) -> str:
    """"plain", "gated" or "transformer"."""
    return single_prior(prior).config.kind


def companion_prior(prior, kind: str, seed: int = 0) -> PixelCNN | GatedPixelCNN | TransformerPrior:
    """An untrained prior of ``kind`` over the same grid as ``prior`` (for the causal view).

    The plain one is the notes' stack with 3x3 kernels (type A first, type B after), where the
    blind spot is visible even on a small grid; the gated one keeps the loaded prior's depth (at
    least 8 layers when a transformer is loaded); one transformer block already sees every earlier cell.
    """
    source = single_prior(prior).config
    layers = max(source.layers, 8) if source.kind == "transformer" else source.layers
    cfg = replace(source, kind=kind, members=1, channels=16, head_channels=16, dropout=0.0, heads=2,
                  mlp_ratio=2, layers=layers, class_heads=0)
    if kind == "plain":
        cfg = replace(cfg, first_kernel=3, kernel_size=3)
    elif kind == "transformer":
        cfg = replace(cfg, layers=1)
    torch.manual_seed(seed)
    return build_prior(cfg).eval()


def _first_convs(net) -> list[MaskedConv2d]:
    """The masked convolutions of a PixelCNN's first layer (read as masks)."""
    if isinstance(net, GatedPixelCNN):
        return [net.layers[0].v_conv, net.layers[0].h_conv]
    return [net.conv_in]


def first_layer_field(prior, i: int, j: int) -> np.ndarray:
    """(H, W) bool: the cells the first (type A) layer reads for position (i, j)."""
    net = single_prior(prior)
    h, w = net.config.height, net.config.width
    if isinstance(net, TransformerPrior):            # causal attention: every earlier cell, from layer 1
        return causal_region(h, w, i, j)
    field = np.zeros((h, w), dtype=bool)
    for conv in _first_convs(net):
        mask = conv.mask[0, 0].numpy() > 0                        # (kh, kw)
        kh, kw = mask.shape
        for a, b in zip(*np.nonzero(mask)):
            y, x = i + a - kh // 2, j + b - kw // 2
            if 0 <= y < h and 0 <= x < w:
                field[y, x] = True
    return field


def measured_receptive_fields(prior, trials: int = 2, seed: int = 0) -> np.ndarray:
    """(H, W, H, W) bool: [i, j] is the set of cells the logits at (i, j) depend on.

    One backward pass: the batch holds every position p = (i, j) ``trials`` times over random
    code grids; item b's loss is a random projection of its logits at its own position, so
    the gradient at the input embeddings e (B, C, H, W) is non-zero exactly where the stack
    connects that cell to (i, j).
    """
    net = single_prior(prior)
    cfg = net.config
    h, w, p = cfg.height, cfg.width, cfg.height * cfg.width
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, cfg.num_codes, (p * trials, h, w), generator=g)          # (P*T, H, W)
    labels = torch.randint(0, cfg.num_classes, (p * trials,), generator=g) if cfg.num_classes else None
    direction = torch.randn(p * trials, cfg.num_codes, generator=g)                     # (P*T, K)
    pos = torch.arange(p).repeat_interleave(trials)                                     # item -> position
    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad():
            e = net.embed(codes).permute(0, 3, 1, 2).detach().requires_grad_(True)      # (P*T, C, H, W)
            logits = net.logits_from_embedding(e, labels, codes)                             # (P*T, K, H, W)
            flat = logits.flatten(2)[torch.arange(p * trials), :, pos]                  # (P*T, K)
            (flat * direction).sum().backward()
    finally:
        net.train(was_training)
    reached = e.grad.abs().sum(1) > 0                                                    # (P*T, H, W)
    return reached.view(p, trials, h, w).any(1).view(h, w, h, w).numpy()


def causal_region(h: int, w: int, i: int, j: int) -> np.ndarray:
    """(H, W) bool: every cell before (i, j) in raster order (what a prediction may use)."""
    order = np.arange(h * w).reshape(h, w)
    return order < i * w + j


def blind_spot(field: np.ndarray, i: int, j: int) -> np.ndarray:
    """(H, W) bool: earlier cells the stack cannot see (the plain PixelCNN's blind spot)."""
    return causal_region(*field.shape, i, j) & ~field


def fields_of_both_kinds(prior):
    """A generator, stoppable between kinds (a GUI worker runs it): the measured fields and first-layer masks
    of the loaded kind and of each other kind (an untrained prior of the same grid)."""
    kind = prior_kind(prior)
    others = [k for k in KINDS if k != kind]
    priors = {kind: prior, **{other: companion_prior(prior, other) for other in others}}
    fields, firsts = {}, {}
    for name, net in priors.items():
        fields[name] = measured_receptive_fields(net)                                  # (H, W, H, W)
        h, w = fields[name].shape[:2]
        firsts[name] = np.array([[first_layer_field(net, i, j) for j in range(w)] for i in range(h)])
        yield
    notes = {kind: f"the loaded {_name(kind)}"}
    for other in others:
        notes[other] = (f"an untrained {_name(other)}" + (" (3×3 kernels, as in the notes)" if other == "plain" else "")
                        + ": connectivity does not depend on training")
    return fields, firsts, notes


def _name(kind: str) -> str:
    return "causal transformer" if kind == "transformer" else f"{kind} PixelCNN"
