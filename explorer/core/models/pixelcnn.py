"""Autoregressive priors over the H x W grid of code indices (notes, "PixelCNN").

    p(z) = prod_{i,j} p(z_{i,j} | z_{<i,j}),    log p(z) = sum_{i,j} log p(z_{i,j} | z_{<i,j})

Two priors:

* :class:`PixelCNN`: the notes' plain stack: a type-A masked conv, then residual blocks
  with type-B masked convs. Its receptive field has the well-known blind spot (up and to
  the right of the current position).
* :class:`GatedPixelCNN`: vertical and horizontal stacks with gated activations
  (van den Oord et al. 2016): no blind spot.

Both are trained with teacher forcing (every position in one pass, :meth:`logits`) and
cross-entropy, give exact log-likelihoods, and sample in raster order through
:class:`~explorer.core.sampling.RasterSampler`.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import conv_size
from .masked_conv import MaskedConv2d, pointwise
from .prior import AutoregressivePrior, PriorConfig, in_chunks, register_prior_kind

TEACHER_FORCED_CHUNK = 128    # grids per teacher-forced pass (prior.in_chunks)


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

    def logits_from_embedding(self, e: torch.Tensor, labels: torch.Tensor | None = None,
                              codes: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from embedded codes e (B, C, H, W); tests differentiate through e (``codes`` unused)."""
        x = self.conv_in(e) + self._class_bias(self.class_embed, labels)
        if self.pos_bias is not None:
            x = x + self.pos_bias                                         # (C, H, W) broadcast over B
        for block in self.blocks:
            x = block(x)
        return self.head2(F.relu(self.head1(F.relu(x))))

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return in_chunks(lambda c, y: self.logits_from_embedding(self.embed(c).permute(0, 3, 1, 2), y),
                         codes, labels, TEACHER_FORCED_CHUNK)                             # (B, K, H, W)

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

    def logits_from_embedding(self, e: torch.Tensor, labels: torch.Tensor | None = None,
                              codes: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from embedded codes e (B, C, H, W); tests differentiate through e (``codes`` unused)."""
        if self.config.num_classes and labels is None:
            raise ValueError("this prior is class-conditional: pass labels")
        v, h = e, e
        for layer in self.layers:
            v, h = layer(v, h, labels)
        return self.head2(F.relu(self.head1(F.relu(h))))

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return in_chunks(lambda c, y: self.logits_from_embedding(self.embed(c).permute(0, 3, 1, 2), y),
                         codes, labels, TEACHER_FORCED_CHUNK)                             # (B, K, H, W)

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
# State sizes (for the config's limits, without building the model)
# --------------------------------------------------------------------------------------
def _shared_size(cfg: PriorConfig) -> int:
    """The code embedding and the 1x1 output head, common to both stacks."""
    c = cfg.channels
    return cfg.num_codes * c + conv_size(c, cfg.head_channels, 1) + conv_size(cfg.head_channels, cfg.num_codes, 1)


def plain_state_size(cfg: PriorConfig) -> int:
    c, k, f, half = cfg.channels, cfg.kernel_size, cfg.first_kernel, cfg.channels // 2
    block = conv_size(c, half, 1) + conv_size(half, half, k) + k * k + conv_size(half, c, 1)
    size = _shared_size(cfg) + conv_size(c, c, f) + f * f + cfg.layers * block + cfg.num_classes * c
    return size + (c * cfg.height * cfg.width if cfg.positional else 0)


def gated_state_size(cfg: PriorConfig) -> int:
    c, k = cfg.channels, cfg.kernel_size
    layer = (conv_size(c, 2 * c, k) + k * k + conv_size(c, 2 * c, 1, k) + k
             + conv_size(2 * c, 2 * c, 1) + conv_size(c, c, 1) + 2 * cfg.num_classes * 2 * c)
    layer += 2 * 2 * c * cfg.height * cfg.width if cfg.positional else 0
    return _shared_size(cfg) + cfg.layers * layer


register_prior_kind("plain", PixelCNN, plain_state_size)
register_prior_kind("gated", GatedPixelCNN, gated_state_size)
