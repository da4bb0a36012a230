"""More discrete bottlenecks, beside :mod:`.quantizers` and with the same interface.

Every quantizer here is an ``nn.Module`` whose ``forward(z_e, return_distances=False)`` returns a
:class:`~.quantizers.QuantizerOutput` (straight-through ``quantized`` for the decoder, code
``indices``, loss terms, perplexity, usage, counts), whose ``lookup(indices)`` gives the decoder's
input for a code grid, and whose ``lookup_space(z_e)`` returns the points and codes of the space in
which the nearest code is chosen (for 2-D projections). :func:`build_quantizer` makes the one a
:class:`~.vqvae.VQVAEConfig` asks for, so each kind trains as a full model too.

Kinds (``VQVAEConfig.quantizer``):

* ``vq``: nearest-neighbour VQ with the straight-through estimator and the notes' three-term loss
  (van den Oord et al. 2017, "Neural Discrete Representation Learning"); the switches ``ema``
  (codebook by exponential moving averages, van den Oord et al. 2017 appendix; Razavi et al. 2019,
  "Generating Diverse High-Fidelity Images with VQ-VAE-2"), ``kmeans_init`` and ``dead_code_steps``
  (k-means initialisation and restarts of unused codes, e.g. Dhariwal et al. 2020, "Jukebox";
  Zeghidour et al. 2021, "SoundStream") apply to every VQ kind below;
* ``rotation``: VQ whose gradient passes the bottleneck by the rotation trick instead of the
  identity (Fifty et al. 2024, "Restructuring Vector Quantization with the Rotation Trick");
* ``cosine``: VQ on l2-normalised vectors and codes (Yu et al. 2022, "Vector-quantized Image
  Modeling with Improved VQGAN", ViT-VQGAN);
* ``factorised``: ViT-VQGAN's factorised codes: a linear map down to ``lookup_dim`` dimensions,
  l2-normalised lookup there, a linear map back up (Yu et al. 2022);
* ``fsq``: finite scalar quantization, bounded per-dimension rounding with an implicit codebook, the
  product of the levels (Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE Made Simple");
* ``gumbel``: the Gumbel-Softmax bottleneck of :mod:`.quantizers` with its temperature schedule
  (Jang et al. 2017; Maddison et al. 2017).

The library vector-quantize-pytorch (lucidrains) implements most of these; it is not a dependency.
tests/test_quantizers_extra.py checks the formulas numerically instead (the rotation's Jacobian
against the explicit matrix of Fifty et al., FSQ's grid against the paper's definition).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .quantizers import GumbelQuantizer, QuantizerOutput, VectorQuantizer, code_statistics, squared_distances

QUANTIZER_KINDS = ("vq", "gumbel", "rotation", "cosine", "factorised", "fsq")
NEAREST_NEIGHBOUR_KINDS = ("vq", "rotation", "cosine", "factorised")


# ----------------------------------------------------------------------------------- rotation trick
def rotation_trick(e: torch.Tensor, q: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """q going forward; going backward the gradient at q, rotated and scaled onto e (Fifty et al. 2024).

    With e_hat = e/||e||, q_hat = q/||q||, r = (e_hat + q_hat)/||e_hat + q_hat|| and
    lambda = ||q||/||e||, the rotation R = I - 2 r r^T + 2 q_hat e_hat^T maps e_hat onto q_hat, and
    q = sg[lambda R] e. So dL/de = lambda R^T dL/dq, where the straight-through estimator passes
    dL/dq unchanged. Rows of ``e`` and ``q`` (N, D) are vectors; ``q`` should be detached.
    The forward value is exactly ``q`` (the rotated vector only contributes its gradient).
    """
    e_norm = e.detach().norm(dim=1, keepdim=True).clamp(min=eps)
    q_norm = q.detach().norm(dim=1, keepdim=True).clamp(min=eps)
    e_hat, q_hat = e.detach() / e_norm, q.detach() / q_norm
    r = F.normalize(e_hat + q_hat, dim=1, eps=eps)
    lam = q_norm / e_norm
    rotated = lam * (e - 2.0 * (e * r).sum(1, keepdim=True) * r + 2.0 * (e * e_hat).sum(1, keepdim=True) * q_hat)
    return q.detach() + (rotated - rotated.detach())


def rotation_matrix(e: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The explicit (D, D) matrix lambda R of :func:`rotation_trick` for one pair of vectors (tests)."""
    e_hat, q_hat = e / e.norm(), q / q.norm()
    r = (e_hat + q_hat) / (e_hat + q_hat).norm()
    eye = torch.eye(e.shape[0], dtype=e.dtype)
    return (q.norm() / e.norm()) * (eye - 2 * torch.outer(r, r) + 2 * torch.outer(q_hat, e_hat))


# ----------------------------------------------------------------------------- nearest-neighbour VQ
class LookupVectorQuantizer(VectorQuantizer):
    """VQ with a choice of gradient (STE or rotation trick), l2-normalised codes and a factorised lookup.

    * ``gradient="rotation"``: Fifty et al. 2024 (:func:`rotation_trick`) instead of
      z_q_st = z_e + sg[z_q - z_e];
    * ``cosine=True``: z and e are l2-normalised before the lookup, so the nearest code is the one
      of largest cosine similarity (||z - e||^2 = 2 - 2 cos for unit vectors; Yu et al. 2022);
    * ``lookup_dim > 0``: z = W_in z_e in ``lookup_dim`` dimensions, the codebook lives there, and
      the decoder receives W_out z_q (factorised codes, Yu et al. 2022).
    The codebook and commitment terms, EMA, k-means init and restarts act in the lookup space.
    """

    def __init__(self, num_codes: int, code_dim: int, beta: float = 0.25, *, gradient: str = "ste",
                 cosine: bool = False, lookup_dim: int = 0, **vq_options) -> None:
        if gradient not in ("ste", "rotation"):
            raise ValueError(f"gradient must be 'ste' or 'rotation', not {gradient!r}")
        super().__init__(num_codes, lookup_dim or code_dim, beta, **vq_options)
        self.output_dim, self.gradient, self.cosine = code_dim, gradient, cosine
        self.project_in = nn.Linear(code_dim, lookup_dim) if lookup_dim else None
        self.project_out = nn.Linear(lookup_dim, code_dim) if lookup_dim else None

    def _codes(self, track: bool) -> torch.Tensor:
        book = self.codebook if track and not self.ema else self.codebook.detach()
        return F.normalize(book, dim=1) if self.cosine else book

    def _points(self, z_e: torch.Tensor) -> torch.Tensor:
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.output_dim)
        if self.project_in is not None:
            flat = self.project_in(flat)
        return F.normalize(flat, dim=1) if self.cosine else flat

    def lookup_space(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, d) points and (K, d) codes where the nearest neighbour is taken (detached)."""
        with torch.no_grad():
            return self._points(z_e), self._codes(False)

    def forward(self, z_e: torch.Tensor, return_distances: bool = False) -> QuantizerOutput:
        b, _, h, w = z_e.shape
        z = self._points(z_e)                                            # (B*h*w, d)
        if self.training and not bool(self.initialized):
            self._init_from(z.detach())
        dist_sq = squared_distances(z.detach(), self._codes(False))
        indices = dist_sq.argmin(1)
        counts = torch.bincount(indices, minlength=self.num_codes)
        if self.training:
            with torch.no_grad():
                self._update_codebook(z.detach(), indices, counts)
        z_q = F.embedding(indices, self._codes(True))                    # (B*h*w, d)
        codebook_loss = z.new_zeros(()) if self.ema else F.mse_loss(z_q, z.detach())
        commitment_loss = self.beta * F.mse_loss(z, z_q.detach())
        if self.gradient == "rotation":
            z_st = rotation_trick(z, z_q.detach())
        else:
            z_st = z + (z_q - z).detach()
        if self.project_out is not None:
            z_st = self.project_out(z_st)
        perplexity, usage = code_statistics(counts)
        return QuantizerOutput(
            quantized=z_st.view(b, h, w, -1).permute(0, 3, 1, 2), indices=indices.view(b, h, w),
            codebook_loss=codebook_loss, commitment_loss=commitment_loss, kl_loss=z.new_zeros(()),
            perplexity=perplexity, usage=usage, counts=counts,
            distances=dist_sq.view(b, h, w, -1) if return_distances else None)

    def decoder_codebook(self) -> torch.Tensor:
        """(K, D): what the decoder receives for each code."""
        book = self._codes(False)
        return self.project_out(book) if self.project_out is not None else book

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding(indices, self.decoder_codebook()).permute(0, 3, 1, 2)


# ------------------------------------------------------------------------------------------ FSQ
def balanced_factors(n: int, parts: int) -> list[int]:
    """``parts`` whole numbers >= 1 whose product is exactly ``n``, as equal as the divisors allow (largest first)."""
    best: list[int] | None = None

    def search(rest: int, k: int, low: int, chosen: list[int]) -> None:
        nonlocal best
        if k == 1:
            if rest >= low:
                cand = sorted(chosen + [rest], reverse=True)
                if best is None or cand[0] - cand[-1] < best[0] - best[-1]:
                    best = cand
            return
        d = low
        while d ** k <= rest:
            if rest % d == 0:
                search(rest // d, k - 1, d, chosen + [d])
            d += 1

    search(n, parts, 1, [])
    return best or [n]


def fsq_levels_for(num_codes: int) -> tuple[int, ...]:
    """FSQ levels whose product is exactly K: ceil(log2 K / 3) dimensions, as balanced as K allows.

    K=16 -> (4, 4), K=64 -> (8, 8), K=256 -> (8, 8, 4), K=512 -> (8, 8, 8). Levels of 1 (a
    dimension that carries nothing) are dropped.
    """
    if num_codes < 2:
        raise ValueError("FSQ needs K >= 2")
    parts = max(1, math.ceil(math.log2(num_codes) / 3))
    levels = [v for v in balanced_factors(num_codes, parts) if v > 1]
    return tuple(levels) or (num_codes,)


class FiniteScalarQuantizer(nn.Module):
    """Finite scalar quantization (Mentzer et al. 2023): round each of d bounded dimensions.

    z = W_in z_e in d = len(levels) dimensions; each dimension i is squashed into L_i values,
        f(z_i) = tanh(z_i + s_i) * (L_i - 1)(1 + eps)/2 - o_i   (o_i = 1/2 and s_i = atanh(o_i/half) for even L_i),
    rounded with the straight-through estimator and divided by floor(L_i/2) so codes lie in [-1, 1].
    The codebook is implicit: the grid of all prod(L_i) = K level combinations; code index =
    sum_i digit_i * prod_{j<i} L_j with digit_i = round(f(z_i)) + floor(L_i/2). No codebook or
    commitment loss, nothing to collapse. The decoder receives W_out z_q (D dimensions).
    """

    def __init__(self, num_codes: int, code_dim: int, levels: tuple[int, ...] | None = None,
                 eps: float = 1e-3) -> None:
        super().__init__()
        levels = tuple(levels or fsq_levels_for(num_codes))
        if math.prod(levels) != num_codes or min(levels) < 2:
            raise ValueError(f"FSQ levels {levels} must each be >= 2 with product K = {num_codes}")
        self.num_codes, self.code_dim, self.levels_tuple, self.eps = num_codes, code_dim, levels, eps
        d = len(levels)
        self.project_in = nn.Linear(code_dim, d)
        self.project_out = nn.Linear(d, code_dim)
        lv = torch.tensor(levels, dtype=torch.float32)
        self.register_buffer("levels", lv, persistent=False)
        basis = torch.cumprod(torch.tensor((1,) + levels[:-1], dtype=torch.long), 0)
        self.register_buffer("basis", basis, persistent=False)

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """f(z): each dimension squashed so that rounding gives exactly L_i values."""
        half_l = (self.levels - 1) * (1 + self.eps) / 2
        offset = torch.where(self.levels % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half_l)
        return torch.tanh(z + shift) * half_l - offset

    def _quantise(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bounded = self.bound(z)
        rounded = bounded + (torch.round(bounded) - bounded).detach()     # STE
        half_width = torch.div(self.levels, 2, rounding_mode="floor")
        digits = (torch.round(bounded.detach()) + half_width).long()
        return rounded / half_width, digits

    def implicit_codebook(self) -> torch.Tensor:
        """(K, d) the grid of every code, in the normalised units the decoder's W_out receives."""
        idx = torch.arange(self.num_codes, device=self.basis.device)
        digits = (idx[:, None] // self.basis) % self.levels.long()
        half_width = torch.div(self.levels, 2, rounding_mode="floor")
        return (digits.float() - half_width) / half_width

    def lookup_space(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, d) bounded, normalised points before rounding and the (K, d) grid."""
        with torch.no_grad():
            flat = self.project_in(z_e.permute(0, 2, 3, 1).reshape(-1, self.code_dim))
            half_width = torch.div(self.levels, 2, rounding_mode="floor")
            return self.bound(flat) / half_width, self.implicit_codebook()

    def forward(self, z_e: torch.Tensor, return_distances: bool = False) -> QuantizerOutput:
        b, _, h, w = z_e.shape
        flat = self.project_in(z_e.permute(0, 2, 3, 1).reshape(-1, self.code_dim))
        codes, digits = self._quantise(flat)
        indices = (digits * self.basis).sum(1)
        counts = torch.bincount(indices, minlength=self.num_codes)
        perplexity, usage = code_statistics(counts)
        distances = None
        if return_distances:
            points, grid = self.lookup_space(z_e)
            distances = squared_distances(points, grid).view(b, h, w, -1)
        zero = z_e.new_zeros(())
        return QuantizerOutput(
            quantized=self.project_out(codes).view(b, h, w, -1).permute(0, 3, 1, 2), indices=indices.view(b, h, w),
            codebook_loss=zero, commitment_loss=zero, kl_loss=zero, perplexity=perplexity, usage=usage,
            counts=counts, distances=distances)

    def decoder_codebook(self) -> torch.Tensor:
        """(K, D): what the decoder receives for each code."""
        return self.project_out(self.implicit_codebook())

    @property
    def codebook(self) -> torch.Tensor:
        """The implicit codebook as the decoder sees it, (K, D)."""
        return self.decoder_codebook()

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding(indices, self.decoder_codebook()).permute(0, 3, 1, 2)


# ----------------------------------------------------------------------------------- construction
def quantizer_state_size(kind: str, num_codes: int, code_dim: int, lookup_dim: int) -> int:
    """Elements the quantizer adds to a model's state dict (weights and buffers), without building it."""
    k, d = num_codes, code_dim
    if kind == "gumbel":
        return k * d
    if kind == "fsq":
        n = len(fsq_levels_for(k))
        return (d * n + n) + (n * d + d)
    if kind == "factorised":
        m = lookup_dim
        return 2 * k * m + 2 * k + 1 + (d * m + m) + (m * d + d)
    return 2 * k * d + 2 * k + 1


def encoder_channels(kind: str, num_codes: int, code_dim: int) -> int:
    """What the encoder emits per position: K logits for Gumbel, else a D-dimensional z_e."""
    return num_codes if kind == "gumbel" else code_dim


def build_quantizer(cfg) -> nn.Module:
    """The quantizer a :class:`~.vqvae.VQVAEConfig` describes."""
    kind = cfg.quantizer
    if kind == "gumbel":
        return GumbelQuantizer(cfg.num_codes, cfg.code_dim, kl_weight=cfg.gumbel_kl_weight, hard=cfg.gumbel_hard,
                               tau=cfg.tau_start)
    if kind == "fsq":
        return FiniteScalarQuantizer(cfg.num_codes, cfg.code_dim)
    options = dict(ema=cfg.ema, decay=cfg.ema_decay, kmeans_init=cfg.kmeans_init, dead_code_steps=cfg.dead_code_steps)
    if kind == "vq":
        return VectorQuantizer(cfg.num_codes, cfg.code_dim, cfg.beta, **options)
    return LookupVectorQuantizer(cfg.num_codes, cfg.code_dim, cfg.beta,
                                 gradient="rotation" if kind == "rotation" else "ste",
                                 cosine=kind in ("cosine", "factorised"),
                                 lookup_dim=cfg.lookup_dim if kind == "factorised" else 0, **options)


def lookup_space(quantizer: nn.Module, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(N, d) points, (K, d) codes of the space where codes are chosen, and whether points are soft.

    Plain VQ: z_e and the codebook. Gumbel: the soft embeddings softmax(logits) @ e and e.
    """
    with torch.no_grad():
        if hasattr(quantizer, "lookup_space"):
            points, codes = quantizer.lookup_space(z_e)
            return points, codes, False
        book = quantizer.codebook.detach()
        if isinstance(quantizer, GumbelQuantizer):
            z_e = torch.einsum("bkhw,kd->bdhw", F.softmax(z_e, dim=1), book)
            return z_e.permute(0, 2, 3, 1).reshape(-1, book.shape[1]), book, True
        return z_e.permute(0, 2, 3, 1).reshape(-1, book.shape[1]), book, False
