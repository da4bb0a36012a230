"""The shared ground of the autoregressive priors over the H x W grid of codes (notes, "PixelCNN"):

    p(z) = prod_{i,j} p(z_{i,j} | z_{<i,j}),    log p(z) = sum_{i,j} log p(z_{i,j} | z_{<i,j})

* :class:`PriorConfig`: one config for every kind (PixelCNN stacks, the transformer, ensembles);
* :class:`AutoregressivePrior`: the API they share (teacher-forced ``logits``, exact
  ``log_prob``, raster ``sample``/``steps`` through :class:`~explorer.core.sampling.RasterSampler`);
* :func:`build_prior`: the prior a config names. Each kind registers itself
  (:func:`register_prior_kind`) in its own module: ``pixelcnn`` ("plain", "gated"),
  ``transformer_prior`` ("transformer"); ``ensemble`` holds M > 1 members of one kind.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, ClassVar, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import MAX_PARAMETERS, JsonConfig, Limit
from ..sampling import RasterSampler, RasterStep

# kind -> (class, state size of one member's config). The package imports every kind's module (and
# the ensemble's) before any of its modules is used, so the tables are full by then.
PRIOR_KINDS: dict[str, tuple[Callable[["PriorConfig"], "AutoregressivePrior"], Callable[["PriorConfig"], int]]] = {}


def register_prior_kind(kind: str, build: Callable[["PriorConfig"], "AutoregressivePrior"],
                        state_size: Callable[["PriorConfig"], int]) -> None:
    """Make ``build_prior`` and ``PriorConfig.state_size`` handle ``kind`` (listed in PriorConfig.LIMITS):
    ``build(config)`` makes the prior (a class, or a function choosing one)."""
    PRIOR_KINDS[kind] = (build, state_size)


ENSEMBLE: dict[str, type] = {}      # "class": the ensemble of M > 1 members (registered by ``.ensemble``)


def register_ensemble(cls: type) -> None:
    """Make ``build_prior`` build ``cls(config)`` for configs with ``members > 1``."""
    ENSEMBLE["class"] = cls


@dataclass
class PriorConfig(JsonConfig):
    kind: str = "gated"            # "gated" (no blind spot), "plain" (the notes' masked stack) or "transformer"
    num_codes: int = 32            # K, number of code values (must match the VQ-VAE)
    height: int = 7                # code-grid rows
    width: int = 7                 # code-grid columns
    channels: int = 64             # feature width of the stack (the transformer's model width d)
    layers: int = 8                # gated layers, residual blocks of the plain stack, or transformer blocks
    kernel_size: int = 3           # kernel of the gated stacks / the plain type-B convs
    first_kernel: int = 7          # kernel of the plain stack's type-A first layer
    head_channels: int = 128       # width of the 1x1 output head
    num_classes: int = 0           # class conditioning (0 = unconditional)
    dropout: float = 0.1           # dropout before each residual 1x1 conv (training only)
    positional: bool = True        # learned bias per (layer, row, column): the prior knows where it is
    members: int = 1               # M > 1: an ensemble of M such priors whose conditionals are averaged
    heads: int = 4                 # transformer: attention heads (must divide channels)
    mlp_ratio: int = 4             # transformer: MLP hidden width = mlp_ratio * channels
    class_heads: int = 0           # transformer, unconditional: C > 0 output heads, one per class, mixed (class_heads.py)

    LEGACY_DEFAULTS: ClassVar[dict] = {"positional": False}   # bundles from before positional biases

    LIMITS: ClassVar[dict[str, Limit]] = {
        "kind": Limit(str, choices=("gated", "plain", "transformer")), "num_codes": Limit(int, 2, 8192),
        "height": Limit(int, 1, 256), "width": Limit(int, 1, 256), "channels": Limit(int, 2, 1024),
        "layers": Limit(int, 1, 64), "kernel_size": Limit(int, 1, 15, odd=True),
        "first_kernel": Limit(int, 1, 15, odd=True), "head_channels": Limit(int, 1, 4096),
        "num_classes": Limit(int, 0, 1000), "dropout": Limit(float, 0, 1, high_open=True),
        "positional": Limit(bool), "members": Limit(int, 1, 32), "heads": Limit(int, 1, 64),
        "mlp_ratio": Limit(int, 1, 16), "class_heads": Limit(int, 0, 1000),
    }

    def __post_init__(self) -> None:
        self.check_fields()
        if self.kind == "transformer" and self.channels % self.heads:
            raise ValueError(f"channels ({self.channels}) must be a multiple of heads ({self.heads})")
        if self.class_heads and (self.kind != "transformer" or self.num_classes):
            raise ValueError("class heads need an unconditional transformer (kind transformer, num_classes 0)")
        if self.state_size() > MAX_PARAMETERS:
            raise ValueError(f"this prior would hold {self.state_size():,} weights, more than the "
                             f"{MAX_PARAMETERS:,} allowed: lower channels, layers, members or the grid size")

    def state_size(self) -> int:
        """Elements of the prior's state dict (weights, masks, biases), computed without building it."""
        return PRIOR_KINDS[self.kind][1](self) * self.members

    def describe(self) -> str:
        """A short name for people, e.g. "gated PixelCNN" or "ensemble of 2 gated PixelCNNs"."""
        name = "transformer" if self.kind == "transformer" else f"{self.kind} PixelCNN"
        extra = f" with {self.class_heads} class heads" if self.class_heads else ""
        return name + extra if self.members == 1 else f"ensemble of {self.members} {name}s{extra}"


class AutoregressivePrior(nn.Module):
    """Shared API of the priors: logits, log_prob, sample, steps."""

    config: PriorConfig

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits for every position in one pass: (B, H, W) -> (B, K, H, W)."""
        raise NotImplementedError

    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None, revision: int = 2):
        """An evaluator that computes one position's logits from cached activations. ``revision``
        names the evaluator's arithmetic where a kind has had more than one (the transformer: see
        its ``incremental``); a compressed file is decoded with the revision it was coded with."""
        raise NotImplementedError

    def cache_bytes_per_grid(self) -> int:
        """Bytes per grid that :meth:`incremental` keeps and re-reads in full at every step (a
        transformer's keys and values); 0 where a step reads only a bounded neighbourhood."""
        return 0

    def forward(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits(codes, labels)

    def loss(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced NLL in nats per position: mean cross-entropy (notes, "Training")."""
        return F.cross_entropy(self.logits(codes, labels), codes)

    def log_prob(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Exact log p(z) = sum_{i,j} log p(z_ij | z_<ij) in nats: (B, H, W) -> (B,)."""
        return -F.cross_entropy(self.logits(codes, labels), codes, reduction="none").sum((1, 2))

    def set_dropout(self, rate: float) -> None:
        """Change the training dropout rate (config and every dropout layer), e.g. for fine-tuning."""
        if not 0.0 <= rate < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        self.config = replace(self.config, dropout=rate)
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = rate

    def _class_bias(self, table: nn.Embedding | None, labels: torch.Tensor | None) -> torch.Tensor | float:
        if table is None:
            return 0.0
        if labels is None:
            raise ValueError("this prior is class-conditional: pass labels")
        return table(labels)[:, :, None, None]

    def sample(self, n: int = 1, temperature: float = 1.0, top_k: int | None = None,
               generator: torch.Generator | None = None, given: torch.Tensor | None = None,
               mask: torch.Tensor | None = None, labels: torch.Tensor | int | None = None,
               method: str = "fast") -> torch.Tensor:
        """n code grids (n, H, W) drawn in raster order; ``given``/``mask`` keep codes fixed."""
        return RasterSampler(self, method).sample(n, temperature=temperature, top_k=top_k, generator=generator,
                                                  given=given, mask=mask, labels=labels)

    def steps(self, n: int = 1, temperature: float = 1.0, top_k: int | None = None,
              generator: torch.Generator | None = None, given: torch.Tensor | None = None,
              mask: torch.Tensor | None = None, labels: torch.Tensor | int | None = None,
              method: str = "fast") -> Iterator[RasterStep]:
        """Generator of raster steps (position, probabilities, chosen code, grid so far)."""
        return RasterSampler(self, method).steps(n, temperature=temperature, top_k=top_k, generator=generator,
                                                 given=given, mask=mask, labels=labels)


def in_chunks(logits_of: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], codes: torch.Tensor,
              labels: torch.Tensor | None, size: int) -> torch.Tensor:
    """``logits_of(codes, labels)`` over at most ``size`` grids at a time, concatenated along the
    batch: each grid's logits are its own, and one chunk's activations stay in the processor's
    cache. Teacher-forced passes over 500 grids on one thread: 1.2x faster for the transformer in
    chunks of 64, 1.07x for the PixelCNN ensemble in chunks of 128 (benchmarks/README.md)."""
    if codes.shape[0] <= size:
        return logits_of(codes, labels)
    if labels is not None and labels.dim() == 0:
        labels = labels.expand(codes.shape[0])
    label_parts = labels.split(size) if labels is not None else [None] * len(codes.split(size))
    return torch.cat([logits_of(c, y) for c, y in zip(codes.split(size), label_parts)])


def build_prior(config: PriorConfig) -> AutoregressivePrior:
    """The prior class named by ``config.kind``; an ensemble of them when ``config.members > 1``."""
    if config.members > 1:
        return ENSEMBLE["class"](config)
    return PRIOR_KINDS[config.kind][0](config)
