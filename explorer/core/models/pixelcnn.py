"""Autoregressive priors over the H x W grid of code indices (notes, "PixelCNN").

    p(z) = prod_{i,j} p(z_{i,j} | z_{<i,j}),    log p(z) = sum_{i,j} log p(z_{i,j} | z_{<i,j})

Two priors:

* :class:`PixelCNN`: the notes' plain stack: a type-A masked conv, then residual blocks
  with type-B masked convs. Its receptive field has the well-known blind spot (up and to
  the right of the current position).
* :class:`GatedPixelCNN`: vertical and horizontal stacks with gated activations
  (van den Oord et al. 2016): no blind spot.

:class:`PriorEnsemble` averages the conditionals of several trained priors; it is again an
exact autoregressive model with the same API.

Both are trained with teacher forcing (every position in one pass, :meth:`logits`) and
cross-entropy, give exact log-likelihoods, and sample in raster order through
:class:`~explorer.core.sampling.RasterSampler`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, ClassVar, Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import MAX_PARAMETERS, JsonConfig, Limit, conv_size
from .masked_conv import MaskedConv2d, pointwise
from ..sampling import RasterSampler, RasterStep


# Prior kinds defined in other modules: kind -> (class, state size of a config). They register on
# import (``transformer_prior`` does, and the package imports it before any of its modules is used).
OTHER_KINDS: dict[str, tuple[type, Callable[["PriorConfig"], int]]] = {}


def register_prior_kind(kind: str, cls: type, state_size: Callable[["PriorConfig"], int]) -> None:
    """Make ``build_prior`` and ``PriorConfig.state_size`` handle ``kind`` (listed in PriorConfig.LIMITS)."""
    OTHER_KINDS[kind] = (cls, state_size)


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

    LEGACY_DEFAULTS: ClassVar[dict] = {"positional": False}   # bundles from before positional biases

    LIMITS: ClassVar[dict[str, Limit]] = {
        "kind": Limit(str, choices=("gated", "plain", "transformer")), "num_codes": Limit(int, 2, 8192),
        "height": Limit(int, 1, 256), "width": Limit(int, 1, 256), "channels": Limit(int, 2, 1024),
        "layers": Limit(int, 1, 64), "kernel_size": Limit(int, 1, 15, odd=True),
        "first_kernel": Limit(int, 1, 15, odd=True), "head_channels": Limit(int, 1, 4096),
        "num_classes": Limit(int, 0, 1000), "dropout": Limit(float, 0, 1, high_open=True),
        "positional": Limit(bool), "members": Limit(int, 1, 32), "heads": Limit(int, 1, 64),
        "mlp_ratio": Limit(int, 1, 16),
    }

    def __post_init__(self) -> None:
        self.check_fields()
        if self.kind == "transformer" and self.channels % self.heads:
            raise ValueError(f"channels ({self.channels}) must be a multiple of heads ({self.heads})")
        if self.state_size() > MAX_PARAMETERS:
            raise ValueError(f"this prior would hold {self.state_size():,} weights, more than the "
                             f"{MAX_PARAMETERS:,} allowed: lower channels, layers, members or the grid size")

    def state_size(self) -> int:
        """Elements of the prior's state dict (weights, masks, biases), computed without building it."""
        c, k, hw, n_cls = self.channels, self.kernel_size, self.height * self.width, self.num_classes
        if self.kind in OTHER_KINDS:
            return OTHER_KINDS[self.kind][1](self) * self.members
        size = self.num_codes * c + conv_size(c, self.head_channels, 1) + conv_size(self.head_channels,
                                                                                    self.num_codes, 1)
        if self.kind == "gated":
            layer = (conv_size(c, 2 * c, k) + k * k + conv_size(c, 2 * c, 1, k) + k
                     + conv_size(2 * c, 2 * c, 1) + conv_size(c, c, 1) + 2 * n_cls * 2 * c)
            layer += 2 * 2 * c * hw if self.positional else 0
            size += self.layers * layer
        else:
            f, half = self.first_kernel, c // 2
            block = conv_size(c, half, 1) + conv_size(half, half, k) + k * k + conv_size(half, c, 1)
            size += conv_size(c, c, f) + f * f + self.layers * block + n_cls * c
            size += c * hw if self.positional else 0
        return size * self.members

    def describe(self) -> str:
        """A short name for people, e.g. "gated PixelCNN" or "ensemble of 2 gated PixelCNNs"."""
        name = "transformer" if self.kind == "transformer" else f"{self.kind} PixelCNN"
        return name if self.members == 1 else f"ensemble of {self.members} {name}s"



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


# --------------------------------------------------------------------------------------
# Plain PixelCNN
# --------------------------------------------------------------------------------------
class MaskedResidualBlock(nn.Module):
    """x + 1x1(relu(B-masked kxk(relu(1x1(relu(x))))))  (van den Oord et al. 2016a, Fig. 5)."""

    def __init__(self, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        half = channels // 2
        self.reduce = nn.Conv2d(channels, half, 1)
        self.masked = MaskedConv2d(half, half, kernel_size, "B")
        self.expand = nn.Conv2d(half, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.reduce(F.relu(x)))
        h = F.relu(self.masked(h))
        return x + self.expand(self.drop(h))


class PixelCNN(AutoregressivePrior):
    """The notes' masked stack: type-A conv on the embedded codes, then type-B blocks."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.num_codes, c.channels)
        self.conv_in = MaskedConv2d(c.channels, c.channels, c.first_kernel, "A")
        self.blocks = nn.ModuleList(MaskedResidualBlock(c.channels, c.kernel_size, c.dropout) for _ in range(c.layers))
        self.class_embed = nn.Embedding(c.num_classes, c.channels) if c.num_classes else None
        self.pos_bias = nn.Parameter(torch.zeros(c.channels, c.height, c.width)) if c.positional else None
        self.head1 = nn.Conv2d(c.channels, c.head_channels, 1)
        self.head2 = nn.Conv2d(c.head_channels, c.num_codes, 1)

    def logits_from_embedding(self, e: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from embedded codes e (B, C, H, W); tests differentiate through e."""
        x = self.conv_in(e) + self._class_bias(self.class_embed, labels)
        if self.pos_bias is not None:
            x = x + self.pos_bias                                         # (C, H, W) broadcast over B
        for block in self.blocks:
            x = block(x)
        return self.head2(F.relu(self.head1(F.relu(x))))

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits_from_embedding(self.embed(codes).permute(0, 3, 1, 2), labels)  # (B, C, H, W)

    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None, revision: int = 2) -> "_PlainIncremental":
        return _PlainIncremental(self, grid, labels)


class _PlainIncremental:
    """Caches each masked conv's input; a step computes one position through the stack."""

    def __init__(self, net: PixelCNN, grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        n, h, w = grid.shape
        ref = net.embed.weight
        self.net = net
        self.x_in = net.conv_in.pad_like(n, h, w, ref)                    # embedded codes, padded
        self.caches = [b.masked.pad_like(n, h, w, ref) for b in net.blocks]
        self.cls = net.class_embed(labels) if net.class_embed is not None else 0.0
        self.commit_all(grid)

    def commit_all(self, grid: torch.Tensor) -> None:
        # Given codes are visible to later positions from the start (only causal taps read them).
        p = self.net.conv_in.padding[0]
        h, w = grid.shape[1:]
        self.x_in[:, :, p:p + h, p:p + w] = self.net.embed(grid).permute(0, 3, 1, 2)

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        net = self.net
        x = net.conv_in.at(self.x_in, i, j) + self.cls                  # (n, C)
        if net.pos_bias is not None:
            x = x + net.pos_bias[:, i, j]
        for block, cache in zip(net.blocks, self.caches):
            h = F.relu(pointwise(block.reduce, F.relu(x)))
            p = block.masked.padding[0]
            cache[:, :, i + p, j + p] = h
            h = F.relu(block.masked.at(cache, i, j))
            x = x + pointwise(block.expand, h)
        return pointwise(net.head2, F.relu(pointwise(net.head1, F.relu(x))))

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        p = self.net.conv_in.padding[0]
        self.x_in[:, :, i + p, j + p] = self.net.embed(codes)


# --------------------------------------------------------------------------------------
# Gated PixelCNN
# --------------------------------------------------------------------------------------
def gate(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """tanh(a) * sigmoid(b) for x = [a, b] split along ``dim``."""
    a, b = x.chunk(2, dim=dim)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer with a vertical and a horizontal stack.

    v_raw = Vconv(v) (rows strictly above for layer 0, up to the centre row after);
    h_raw = Hconv(h) (1 x k, type A for layer 0, B after) + 1x1(v_raw);
    v' = gate(v_raw); h' = [h +] 1x1(gate(h_raw)). The vertical stack only ever sees rows
    above the current one, so linking it into the horizontal stack is causal.
    """

    def __init__(self, channels: int, kernel_size: int, first: bool, num_classes: int, dropout: float,
                 grid: tuple[int, int] | None = None) -> None:
        super().__init__()
        c, k = channels, kernel_size
        self.first = first
        self.v_conv = MaskedConv2d(c, 2 * c, k, "VA" if first else "VB")
        self.h_conv = MaskedConv2d(c, 2 * c, (1, k), "A" if first else "B")
        self.v_to_h = nn.Conv2d(2 * c, 2 * c, 1)
        self.h_out = nn.Conv2d(c, c, 1)
        self.drop = nn.Dropout(dropout)
        self.class_v = nn.Embedding(num_classes, 2 * c) if num_classes else None
        self.class_h = nn.Embedding(num_classes, 2 * c) if num_classes else None
        # Absolute-position biases (PriorConfig.positional): data-independent, so causality is untouched.
        self.pos_v = nn.Parameter(torch.zeros(2 * c, *grid)) if grid else None   # (2C, H, W)
        self.pos_h = nn.Parameter(torch.zeros(2 * c, *grid)) if grid else None

    def forward(self, v: torch.Tensor, h: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        cv = self.class_v(labels)[:, :, None, None] if self.class_v is not None else 0.0
        ch = self.class_h(labels)[:, :, None, None] if self.class_h is not None else 0.0
        pv, ph = (self.pos_v, self.pos_h) if self.pos_v is not None else (0.0, 0.0)
        v_raw = self.v_conv(v) + cv + pv
        h_raw = self.h_conv(h) + self.v_to_h(v_raw) + ch + ph
        h_new = self.h_out(self.drop(gate(h_raw)))
        return gate(v_raw), (h_new if self.first else h + h_new)


class GatedPixelCNN(AutoregressivePrior):
    """Gated PixelCNN with vertical + horizontal stacks: no blind spot."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.num_codes, c.channels)
        grid = (c.height, c.width) if c.positional else None
        self.layers = nn.ModuleList(GatedLayer(c.channels, c.kernel_size, i == 0, c.num_classes, c.dropout, grid)
                                    for i in range(c.layers))
        self.head1 = nn.Conv2d(c.channels, c.head_channels, 1)
        self.head2 = nn.Conv2d(c.head_channels, c.num_codes, 1)

    def logits_from_embedding(self, e: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from embedded codes e (B, C, H, W); tests differentiate through e."""
        if self.config.num_classes and labels is None:
            raise ValueError("this prior is class-conditional: pass labels")
        v, h = e, e
        for layer in self.layers:
            v, h = layer(v, h, labels)
        return self.head2(F.relu(self.head1(F.relu(h))))

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits_from_embedding(self.embed(codes).permute(0, 3, 1, 2), labels)  # (B, C, H, W)

    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None, revision: int = 2) -> "_GatedIncremental":
        return _GatedIncremental(self, grid, labels)


class _GatedIncremental:
    """Fast evaluator for :class:`GatedPixelCNN`.

    The vertical stack at row i depends only on rows < i, so it is computed one whole row
    at a time when row i starts; the horizontal stack is computed one position at a time.
    """

    def __init__(self, net: GatedPixelCNN, grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        n, h, w = grid.shape
        ref = net.embed.weight
        self.net, self.h, self.w = net, h, w
        self.v_in = [layer.v_conv.pad_like(n, h, w, ref) for layer in net.layers]   # inputs of each V conv
        self.h_in = [layer.h_conv.pad_like(n, h, w, ref) for layer in net.layers]   # inputs of each H conv
        self.v_raw = [ref.new_zeros(n, 2 * net.config.channels, w) for _ in net.layers]  # current row
        self.cls_v = [l.class_v(labels) if l.class_v is not None else 0.0 for l in net.layers]
        self.cls_h = [l.class_h(labels) if l.class_h is not None else 0.0 for l in net.layers]
        self.row_done = -1
        e = net.embed(grid).permute(0, 3, 1, 2)                         # (n, C, H, W)
        pv, pw = net.layers[0].v_conv.padding
        self.v_in[0][:, :, pv:pv + h, pw:pw + w] = e
        ph = net.layers[0].h_conv.padding[1]
        self.h_in[0][:, :, :, ph:ph + w] = e

    def _vertical_row(self, i: int) -> None:
        for idx, layer in enumerate(self.net.layers):
            raw = layer.v_conv.row(self.v_in[idx], i)                      # (n, 2C, W)
            if not isinstance(self.cls_v[idx], float):
                raw = raw + self.cls_v[idx][:, :, None]
            if layer.pos_v is not None:
                raw = raw + layer.pos_v[:, i, :]                            # (2C, W) over n
            self.v_raw[idx] = raw
            if idx + 1 < len(self.net.layers):
                pv, pw = self.net.layers[idx + 1].v_conv.padding
                self.v_in[idx + 1][:, :, i + pv, pw:pw + self.w] = gate(raw)
        self.row_done = i

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        if self.row_done != i:
            self._vertical_row(i)
        net = self.net
        h = None
        for idx, layer in enumerate(net.layers):
            ph = layer.h_conv.padding[1]
            if h is not None:
                self.h_in[idx][:, :, i, j + ph] = h
            h_raw = layer.h_conv.at(self.h_in[idx], i, j) + pointwise(layer.v_to_h, self.v_raw[idx][:, :, j]) \
                + self.cls_h[idx]
            if layer.pos_h is not None:
                h_raw = h_raw + layer.pos_h[:, i, j]
            h_new = pointwise(layer.h_out, gate(h_raw))
            h = h_new if layer.first else self.h_in[idx][:, :, i, j + ph] + h_new
        return pointwise(net.head2, F.relu(pointwise(net.head1, F.relu(h))))

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        e = self.net.embed(codes)                                           # (n, C)
        pv, pw = self.net.layers[0].v_conv.padding
        self.v_in[0][:, :, i + pv, j + pw] = e
        ph = self.net.layers[0].h_conv.padding[1]
        self.h_in[0][:, :, i, j + ph] = e


# --------------------------------------------------------------------------------------
# Ensemble: the average of M priors' conditionals
# --------------------------------------------------------------------------------------
def mix_conditionals(logits: Sequence[torch.Tensor], dim: int) -> torch.Tensor:
    """log((1/M) sum_m softmax(logits_m)) along ``dim``: the mixed conditional's log-probabilities."""
    log_probs = torch.stack([F.log_softmax(l.float(), dim=dim) for l in logits])   # (M, ...)
    return torch.logsumexp(log_probs, dim=0) - math.log(len(logits))


class PriorEnsemble(AutoregressivePrior):
    """M priors of one architecture whose conditionals are averaged at every position:

        p(z_ij | z_<ij) = (1/M) sum_m p_m(z_ij | z_<ij)

    Each factor is a normalised distribution over the K codes that depends only on z_<ij,
    so the product is again an exact autoregressive model (notes, "PixelCNN"): ``log_prob``
    is the sum of the log mixed conditionals, and raster sampling draws from the mixed
    conditional. ``logits`` returns those log-probabilities, so the shared API (loss,
    log_prob, sample, steps) applies unchanged. Independently trained members make
    different errors, so the mixture has a lower held-out NLL than each member.
    """

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = config
        member = replace(config, members=1)
        self.members = nn.ModuleList(build_prior(member) for _ in range(config.members))

    @classmethod
    def of(cls, priors: Sequence[AutoregressivePrior]) -> "PriorEnsemble":
        """An ensemble holding copies of trained ``priors`` (ensembles among them are flattened).

        The members must share the architecture; their dropout rates (training only) may differ.
        """
        flat = [m for p in priors for m in (p.members if isinstance(p, PriorEnsemble) else [p])]
        if len(flat) < 2:
            raise ValueError("an ensemble needs at least two priors")
        first = replace(flat[0].config, members=1)
        for p in flat[1:]:
            if replace(p.config, dropout=first.dropout) != first:
                raise ValueError(f"the priors differ in architecture: {first} and {p.config}")
        ensemble = cls(replace(first, members=len(flat)))
        for slot, prior in zip(ensemble.members, flat):
            slot.load_state_dict(prior.state_dict())
        return ensemble.to(next(flat[0].parameters()).device)

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Mixed log-probabilities for every position: (B, H, W) -> (B, K, H, W)."""
        return mix_conditionals([m.logits(codes, labels) for m in self.members], dim=1)

    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None,
                    revision: int = 2) -> "_EnsembleIncremental":
        return _EnsembleIncremental(self, grid, labels, revision)


class _EnsembleIncremental:
    """Runs each member's fast evaluator and mixes their conditionals."""

    def __init__(self, net: PriorEnsemble, grid: torch.Tensor, labels: torch.Tensor | None, revision: int) -> None:
        self.parts = [m.incremental(grid, labels, revision) for m in net.members]

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        return mix_conditionals([p.logits_at(i, j) for p in self.parts], dim=-1)   # (n, K)

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        for part in self.parts:
            part.commit(i, j, codes)


def build_prior(config: PriorConfig) -> AutoregressivePrior:
    """The prior class named by ``config.kind``; an ensemble of them when ``config.members > 1``."""
    if config.members > 1:
        return PriorEnsemble(config)
    if config.kind in OTHER_KINDS:
        return OTHER_KINDS[config.kind][0](config)
    return GatedPixelCNN(config) if config.kind == "gated" else PixelCNN(config)
