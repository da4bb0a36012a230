"""A causal transformer prior over the code grid in raster order (beside the notes' PixelCNN).

    p(z) = prod_t p(z_t | z_<t),   t = i * W + j   (raster order, as for the PixelCNN)

The grid is read as a sequence of H*W tokens. The input at position t is the embedding of the
code just before it (a learned start token at t = 0) plus learned embeddings of the row and
column of position t (the cell being predicted) and, for a class-conditional prior, of the
class. Pre-norm blocks (x + attn(LN(x)), x + MLP(LN(x))) with causal self-attention mean the
output at t depends on inputs 0..t, i.e. on the codes z_0..z_{t-1} only: exactly the
autoregressive factorisation, with no blind spot.

Sampling keeps a key/value cache (:class:`_TransformerIncremental`): each raster step feeds one
new token through the stack and attends to the cached keys and values, so a step costs one
token instead of a full pass (Vaswani et al. 2017; the nanoGPT layout). Its weights are prepared
once per evaluator (revision 2); revision 1, the blocks' own ``step`` methods, stays for ``.dlc``
files of format 2, which must be decoded with the arithmetic they were coded with.

The architecture is set by :class:`~explorer.core.models.prior.PriorConfig` with
``kind = "transformer"``: ``channels`` is the model width d, ``layers`` the number of blocks,
``heads`` the attention heads, ``mlp_ratio`` the MLP width as a multiple of d, ``dropout`` the
dropout on attention and MLP outputs (training only). Kernel and head-width fields are unused.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .prior import AutoregressivePrior, PriorConfig, in_chunks

TEACHER_FORCED_CHUNK = 64     # grids per teacher-forced pass (prior.in_chunks): activations stay in cache


def transformer_state_size(cfg: PriorConfig) -> int:
    """Elements of a :class:`TransformerPrior`'s state dict for ``cfg``, computed without building it."""
    d, hidden = cfg.channels, cfg.mlp_ratio * cfg.channels
    block = (2 * 2 * d                          # two LayerNorms (weight, bias)
             + d * 3 * d + 3 * d + d * d + d    # qkv and output projections
             + d * hidden + hidden + hidden * d + d)  # MLP
    embeddings = (cfg.num_codes + cfg.height + cfg.width + cfg.num_classes + 1) * d   # + start token
    heads = max(1, cfg.class_heads)                                               # output heads (class_heads.py)
    prior = cfg.class_heads                                                       # their log pi buffer
    return embeddings + cfg.layers * block + 2 * d + heads * (d * cfg.num_codes + cfg.num_codes) + prior


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t attends to positions 0..t."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)      # d -> (q, k, v)
        self.proj = nn.Linear(width, width)         # concatenated heads -> d
        self.drop = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d) -> (B, heads, T, d / heads)."""
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape                                                    # (B, T, d)
        q, k, v = (self.split_heads(part) for part in self.qkv(x).split(d, dim=2))   # (B, h, T, d/h) each
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)         # (B, h, T, d/h)
        return self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))

    def step(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, t: int) -> torch.Tensor:
        """One new token x (B, d) at position t. The cache holds positions < t and receives this
        token's key and value at t: ``keys`` (B*h, d/h, T) stored transposed, ``values`` (B*h, T, d/h),
        so one query against the cache is two batched matrix products. This is revision 1 of the
        cached evaluator (:class:`_TransformerIncrementalV1`, for ``.dlc`` format 2); sampling and
        new files use :class:`_TransformerIncremental`."""
        b, d = x.shape
        width = d // self.heads
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias).view(b, 3, self.heads, width)   # (B, 3, h, d/h)
        keys[:, :, t] = qkv[:, 1].reshape(b * self.heads, width)
        values[:, t] = qkv[:, 2].reshape(b * self.heads, width)
        q = qkv[:, 0].reshape(b * self.heads, 1, width)                          # (B*h, 1, d/h)
        scores = torch.bmm(q, keys[:, :, :t + 1]).mul_(1.0 / math.sqrt(width))  # (B*h, 1, t+1)
        y = torch.bmm(scores.softmax(dim=-1), values[:, :t + 1])                # (B*h, 1, d/h)
        return F.linear(y.view(b, d), self.proj.weight, self.proj.bias)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, dropout)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(),
                                 nn.Linear(mlp_ratio * width, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def step(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, t: int) -> torch.Tensor:
        """:meth:`forward` for one token against the key/value cache (revision 1, eval mode)."""
        n1, n2, fc1, fc2 = self.norm1, self.norm2, self.mlp[0], self.mlp[2]
        x = x + self.attn.step(F.layer_norm(x, n1.normalized_shape, n1.weight, n1.bias, n1.eps), keys, values, t)
        h = F.layer_norm(x, n2.normalized_shape, n2.weight, n2.bias, n2.eps)
        return x + F.linear(F.gelu(F.linear(h, fc1.weight, fc1.bias)), fc2.weight, fc2.bias)


class TransformerPrior(AutoregressivePrior):
    """Causal transformer over the raster sequence of codes (see the module docstring)."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = c = config
        d = c.channels
        self.embed = nn.Embedding(c.num_codes, d)                 # code -> token embedding
        self.start = nn.Parameter(torch.zeros(d))                 # the input that predicts position 0
        self.row_embed = nn.Embedding(c.height, d)                # row of the position being predicted
        self.col_embed = nn.Embedding(c.width, d)                 # column of the position being predicted
        self.class_embed = nn.Embedding(c.num_classes, d) if c.num_classes else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(d, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, c.num_codes)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():                    # GPT-2: scaled residual projections
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c.layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def position_embedding(self) -> torch.Tensor:
        """(H*W, d): row + column embedding of each raster position."""
        c = self.config
        rows = self.row_embed.weight[:, None, :].expand(c.height, c.width, -1)
        cols = self.col_embed.weight[None, :, :].expand(c.height, c.width, -1)
        return (rows + cols).reshape(c.height * c.width, -1)

    def _context(self, labels: torch.Tensor | None) -> torch.Tensor | float:
        if self.class_embed is None:
            return 0.0
        if labels is None:
            raise ValueError("this prior is class-conditional: pass labels")
        return self.class_embed(labels)[:, None, :]                      # (B, 1, d)

    def features(self, e: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The trunk: embedded codes e (B, d, H, W) -> the final-norm features (B, HW, d) the head
        reads. The input at t is e at t - 1 (the start token at t = 0)."""
        b, d, h, w = e.shape
        tokens = e.flatten(2).transpose(1, 2)                                # (B, HW, d) in raster order
        start = self.start.expand(b, 1, d)                                   # (B, 1, d)
        x = torch.cat([start, tokens[:, :-1]], dim=1)                        # (B, HW, d): shifted right by one
        x = self.drop(x + self.position_embedding() + self._context(labels))
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def logits_from_embedding(self, e: torch.Tensor, labels: torch.Tensor | None = None,
                              codes: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from embedded codes e (B, d, H, W) -> (B, K, H, W); the receptive field is measured
        through e. ``codes`` (the grid e embeds) is unused here (see the class-heads prior)."""
        b, _, h, w = e.shape
        logits = self.head(self.features(e, labels))                         # (B, HW, K)
        return logits.transpose(1, 2).reshape(b, -1, h, w)                  # (B, K, H, W)

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return in_chunks(lambda c, y: self.logits_from_embedding(self.embed(c).permute(0, 3, 1, 2), y, c),
                         codes, labels, TEACHER_FORCED_CHUNK)

    def cache_bytes_per_grid(self) -> int:
        """The key/value cache of one grid: keys and values (float32) of every position in every block."""
        c = self.config
        return c.layers * 2 * c.height * c.width * c.channels * 4

    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None,
                    revision: int = 2) -> "_TransformerIncremental | _TransformerIncrementalV1":
        """The key/value-cache evaluator. ``revision`` 2 (the default) runs on weights prepared once
        per evaluator; revision 1 is the evaluator of ``.dlc`` format 2, kept so those files decode
        bit-exactly (the two agree to float rounding, not bit for bit)."""
        if revision == 1:
            return _TransformerIncrementalV1(self, grid, labels)
        if revision != 2:
            raise ValueError(f"no cached evaluator revision {revision}")
        return _TransformerIncremental(self, grid, labels)


class _PreparedBlock(NamedTuple):
    """One block's weights laid out for one-token steps: matrices transposed to (in, out) for
    ``addmm``, and the query rows of the qkv projection pre-multiplied by 1/sqrt(d/h)."""
    norm1: tuple[torch.Tensor, torch.Tensor]     # LayerNorm weight, bias
    qkv: tuple[torch.Tensor, torch.Tensor]       # (d, 3d), (3d,)
    proj: tuple[torch.Tensor, torch.Tensor]      # (d, d), (d,)
    norm2: tuple[torch.Tensor, torch.Tensor]
    fc1: tuple[torch.Tensor, torch.Tensor]       # (d, hidden), (hidden,)
    fc2: tuple[torch.Tensor, torch.Tensor]       # (hidden, d), (d,)

    @classmethod
    def of(cls, block: Block) -> "_PreparedBlock":
        d = block.attn.qkv.in_features
        scale = 1.0 / math.sqrt(d // block.attn.heads)
        qkv_w = block.attn.qkv.weight.detach().clone()
        qkv_b = block.attn.qkv.bias.detach().clone()
        qkv_w[:d] *= scale                                             # q rows: scores need no rescaling
        qkv_b[:d] *= scale

        def linear(module: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
            return module.weight.detach().t().contiguous(), module.bias.detach()

        def norm(module: nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor]:
            return module.weight.detach(), module.bias.detach()

        return cls(norm(block.norm1), (qkv_w.t().contiguous(), qkv_b), linear(block.attn.proj), norm(block.norm2),
                   linear(block.mlp[0]), linear(block.mlp[2]))


class _RasterCursor:
    """What both cache revisions share: ``logits_at`` feeds one token (the code committed at the
    previous raster position, or the start token, ``previous``) through every block, and positions
    must be visited in raster order."""
    net: TransformerPrior
    w: int                        # grid width
    previous: torch.Tensor        # (n, d) the input at the next position
    next_t: int                   # the raster index the cache is at

    def _position(self, i: int, j: int) -> int:
        t = i * self.w + j
        if t != self.next_t:
            raise ValueError(f"the key/value cache is at raster position {self.next_t}, not {t}")
        return t

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        with torch.inference_mode():                                                    # a lookup: exact
            self.previous = self.net.embed(codes)                                       # (n, d)
        self.next_t = i * self.w + j + 1


class _TransformerIncremental(_RasterCursor):
    """Key/value cache (revision 2). The weights are prepared once (:class:`_PreparedBlock`) and a
    step calls only tensor functions (no module calls): at a batch of 16 a step is bound by per-call
    costs, and this runs 49 steps 1.35x faster than revision 1 (1.21x at a batch of 256;
    ``benchmarks/bench_transformer_sampler.py``). Every tensor of a step lives in inference mode
    (cheaper calls): the logits returned are inference tensors, to be read, not modified in place."""

    def __init__(self, net: TransformerPrior, grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        n, h, w = grid.shape
        c = net.config
        self.net, self.n, self.w, self.heads = net, n, w, c.heads
        self.width = c.channels // c.heads
        with torch.inference_mode():
            self.blocks = [_PreparedBlock.of(block) for block in net.blocks]
            self.final_norm = (net.norm.weight.detach(), net.norm.bias.detach())
            self.head = (net.head.weight.detach().t().contiguous(), net.head.bias.detach())
            self.positions = net.position_embedding().detach()                         # (HW, d)
            context = net._context(labels)                                             # (n, 1, d) or 0
            self.context = context[:, 0].detach() if isinstance(context, torch.Tensor) else None   # (n, d)
            self.previous = net.start.detach().expand(n, -1)                            # input at the next t
            # Per block: keys and values (n, h, HW, d/h), one row per raster cell (a step writes one
            # row and reads the first rows in one stream), and the same memory viewed as (n*h, HW, d/h).
            ref = net.embed.weight
            self.cache = []
            for _ in net.blocks:
                keys, values = (ref.new_zeros(n, c.heads, h * w, self.width) for _ in range(2))
                self.cache.append((keys, values, keys.view(n * c.heads, h * w, self.width),
                                   values.view(n * c.heads, h * w, self.width)))
        self.shape, self.eps = (c.channels,), net.norm.eps
        # torch's CPU bmm uses a plain loop kernel when rows x columns x contraction < 400, 3-5x slower
        # than its BLAS path here: early steps attend over this many cells, the ones not yet coded masked.
        self.min_span = min(h * w, math.ceil(400 / self.width))
        self.next_t = 0

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        t = self._position(i, j)
        with torch.inference_mode():
            x = self._input(self.previous, t)
            for block, cache in zip(self.blocks, self.cache):
                x = self._block(block, cache, x, t)
            return self._head(x)

    def logits_of(self, codes: torch.Tensor) -> torch.Tensor:
        """Every position's logits given all the grids' codes, (n, H, W) -> (HW, n, K): what
        ``logits_at`` and ``commit`` in raster order return, bit for bit. The operations are the
        very same, on the same inputs; only the loops are swapped, one block at a time over all
        positions, so that a block's weights and key/value cache stay in the processor's cache
        between steps: 1.5x faster for a coder's chunk of 64 grids (the encoder of a ``.dlc`` file
        knows every code). Starts from a fresh cache and leaves it after the last position."""
        n, h, w = codes.shape
        if self.next_t != 0 or n != self.n or h * w != self.cache[0][0].shape[2]:
            raise ValueError("logits_of needs a fresh evaluator for grids of its shape")
        with torch.inference_mode():
            flat = codes.reshape(n, h * w)
            xs = [self._input(self.previous if t == 0 else self.net.embed(flat[:, t - 1]), t) for t in range(h * w)]
            for block, cache in zip(self.blocks, self.cache):
                xs = [self._block(block, cache, x, t) for t, x in enumerate(xs)]
            logits = torch.stack([self._head(x) for x in xs])                                # (HW, n, K)
            self.previous, self.next_t = self.net.embed(flat[:, -1]), h * w
        return logits

    def _input(self, previous: torch.Tensor, t: int) -> torch.Tensor:
        """The blocks' input at position t: the previous code's embedding (or the start token) + position (+ class)."""
        x = previous + self.positions[t]                                                # (n, d)
        return x if self.context is None else x + self.context

    def _block(self, b: _PreparedBlock, cache: tuple[torch.Tensor, ...], x: torch.Tensor, t: int) -> torch.Tensor:
        """One block at position t for the inputs x (n, d) against its key/value cache, where it
        writes this position's key and value. The one definition of the cached arithmetic (revision 2)."""
        n, heads, width, shape, eps = self.n, self.heads, self.width, self.shape, self.eps
        keys, values, keys_flat, values_flat = cache
        span = max(t + 1, self.min_span)                                                # cache cells attended
        h = F.layer_norm(x, shape, *b.norm1, eps)
        q, k, v = torch.addmm(b.qkv[1], h, b.qkv[0]).view(n, 3, heads, width).unbind(1)      # (n, h, d/h) each
        keys.select(2, t).copy_(k)
        values.select(2, t).copy_(v)
        scores = torch.bmm(q.reshape(n * heads, 1, width), keys_flat.narrow(1, 0, span).transpose(1, 2))  # (n*h, 1, span)
        if span > t + 1:
            scores.narrow(2, t + 1, span - t - 1).fill_(-math.inf)                      # cells not yet coded
        y = torch.bmm(scores.softmax(dim=-1), values_flat.narrow(1, 0, span))              # (n*h, 1, d/h)
        x = torch.addmm(b.proj[1], y.view(n, heads * width), b.proj[0]).add_(x)
        h = F.gelu(torch.addmm(b.fc1[1], F.layer_norm(x, shape, *b.norm2, eps), b.fc1[0]))
        return torch.addmm(b.fc2[1], h, b.fc2[0]).add_(x)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.head[1], F.layer_norm(x, self.shape, *self.final_norm, self.eps), self.head[0])  # (n, K)


class _TransformerIncrementalV1(_RasterCursor):
    """Key/value cache, revision 1 (the evaluator ``.dlc`` format 2 was written with): each step
    runs the blocks' own :meth:`Block.step`. Same interface as :class:`_TransformerIncremental`."""

    def __init__(self, net: TransformerPrior, grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        n, h, w = grid.shape
        c = net.config
        ref = net.embed.weight
        self.net, self.w = net, w
        head_width = c.channels // c.heads
        self.keys = [ref.new_zeros(n * c.heads, head_width, h * w) for _ in net.blocks]    # (n*h, d/h, HW)
        self.values = [ref.new_zeros(n * c.heads, h * w, head_width) for _ in net.blocks]  # (n*h, HW, d/h)
        self.positions = net.position_embedding()                                       # (HW, d)
        context = net._context(labels)                                                  # (n, 1, d) or 0
        self.context = context[:, 0] if isinstance(context, torch.Tensor) else context  # (n, d)
        self.previous = net.start.expand(n, -1)                                         # input at the next t
        self.next_t = 0

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        t = self._position(i, j)
        x = self.previous + self.positions[t] + self.context                            # (n, d)
        for block, keys, values in zip(self.net.blocks, self.keys, self.values):
            x = block.step(x, keys, values, t)
        return self.net.head(self.net.norm(x))                                          # (n, K)


# "transformer" is registered by ``class_heads``, which builds this class or, with class heads, its subclass.
