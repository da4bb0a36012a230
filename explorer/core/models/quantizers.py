"""Discrete bottlenecks: nearest-neighbour vector quantisation and Gumbel-Softmax.

Both map encoder features to a grid of code indices and codebook vectors, and both
return a :class:`QuantizerOutput`, so the app can train either one and compare them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from .gumbel import gumbel_softmax


@dataclass
class QuantizerOutput:
    """What a quantizer returns for a batch of encoder outputs."""
    quantized: torch.Tensor          # (B, D, h, w) straight-through z_q, fed to the decoder
    indices: torch.Tensor            # (B, h, w) long code indices in [0, K)
    codebook_loss: torch.Tensor      # scalar ||sg[z_e] - z_q||^2 (0 when EMA updates the codebook)
    commitment_loss: torch.Tensor    # scalar beta * ||z_e - sg[z_q]||^2 (already weighted by beta)
    kl_loss: torch.Tensor            # scalar KL(q || uniform) (Gumbel bottleneck only, else 0)
    perplexity: torch.Tensor         # scalar exp(entropy of the batch's code histogram)
    usage: torch.Tensor              # scalar fraction of the K codes used in this batch
    counts: torch.Tensor             # (K,) how often each code was chosen in this batch
    distances: torch.Tensor | None = None  # (B, h, w, K) squared distances, when asked for

    @property
    def loss(self) -> torch.Tensor:
        """The bottleneck's part of the training loss (add the reconstruction term)."""
        return self.codebook_loss + self.commitment_loss + self.kl_loss


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if _distributed():
        dist.all_reduce(t)
    return t


def _broadcast(t: torch.Tensor) -> torch.Tensor:
    if _distributed():
        dist.broadcast(t, src=0)
    return t


def code_statistics(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Perplexity exp(-sum p log p) and fraction of codes used, from a (K,) histogram."""
    probs = counts.float() / counts.sum().clamp(min=1)
    entropy = -(probs * torch.log(probs.clamp(min=1e-12))).sum()
    return entropy.exp(), (counts > 0).float().mean()


def squared_distances(flat: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """||z - e_k||^2 for every row z of ``flat`` (N, D) and code e_k of ``codebook`` (K, D).

    One matrix product: ||z||^2 - 2 z.e + ||e||^2, giving (N, K); no loop over K.
    """
    return (flat.pow(2).sum(1, keepdim=True)
            - 2.0 * flat @ codebook.t()
            + codebook.pow(2).sum(1)[None, :]).clamp_(min=0.0)


def kmeans(points: torch.Tensor, k: int, iters: int = 10,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Plain Lloyd k-means on (N, D) points; returns (k, D) centres.

    Starts from k random points (with replacement when N < k); an empty cluster keeps
    its previous centre.
    """
    n = points.shape[0]
    idx = torch.randint(0, n, (k,), generator=generator, device="cpu").to(points.device) if n < k else \
        torch.randperm(n, generator=generator, device="cpu")[:k].to(points.device)
    centres = points[idx].clone()
    for _ in range(iters):
        assign = squared_distances(points, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k).float()
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


class VectorQuantizer(nn.Module):
    """Nearest-neighbour lookup in a learnable codebook e in R^{K x D} (notes, "VQ-VAE").

    q(z = k | x) = 1 if k = argmin_j ||z_e(x) - e_j||_2;  z_q(x) = e_k.
    Straight-through (notes, "Straight-through gradient estimation"):
        z_q_st = z_e + (z_q - z_e).detach()
    so dL/dz_e = dL/dz_q; going forward it equals z_q up to one rounding of the add. Loss terms (notes, "VQ-VAE: training objective"):
        codebook   ||sg[z_e] - z_q||^2        trains only the codebook
        commitment beta ||z_e - sg[z_q]||^2   trains only the encoder

    Codebook health (all switchable):
      * ``ema``: the codebook follows exponential moving averages of the vectors assigned
        to it (decay, Laplace smoothing) instead of the codebook loss term;
      * ``kmeans_init``: the first training batch initialises the codebook by k-means;
      * ``dead_code_steps``: a code unused for that many training steps is re-seeded
        from a random encoder output of the current batch.
    Under torch.distributed the statistics are all-reduced so replicas stay identical.
    """

    def __init__(self, num_codes: int, code_dim: int, beta: float = 0.25, *, ema: bool = True,
                 decay: float = 0.99, eps: float = 1e-5, kmeans_init: bool = True,
                 dead_code_steps: int = 10) -> None:
        super().__init__()
        self.num_codes, self.code_dim, self.beta = num_codes, code_dim, beta
        self.ema, self.decay, self.eps = ema, decay, eps
        self.kmeans_init, self.dead_code_steps = kmeans_init, dead_code_steps
        self.codebook = nn.Parameter(torch.empty(num_codes, code_dim).uniform_(-1 / num_codes, 1 / num_codes),
                                     requires_grad=not ema)
        self.register_buffer("initialized", torch.tensor(not kmeans_init))
        # Every code starts as a cluster of weight 1 at its initial vector, so the EMA invariant
        # codebook = ema_sums / ema_counts holds from the start (zeros here blew unused codes up
        # by ~1/(1-decay)/eps on the first update when k-means init was off).
        self.register_buffer("ema_counts", torch.ones(num_codes))
        self.register_buffer("ema_sums", self.codebook.detach().clone())
        self.register_buffer("steps_unused", torch.zeros(num_codes, dtype=torch.long))

    def forward(self, z_e: torch.Tensor, return_distances: bool = False) -> QuantizerOutput:
        b, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)               # (B*h*w, D)
        if self.training and not bool(self.initialized):
            self._init_from(flat.detach())
        dist_sq = squared_distances(flat, self.codebook.detach() if self.ema else self.codebook)
        indices = dist_sq.argmin(1)                                   # (B*h*w,)
        counts = torch.bincount(indices, minlength=self.num_codes)
        if self.training:
            with torch.no_grad():
                self._update_codebook(flat.detach(), indices, counts)
        z_q = F.embedding(indices, self.codebook).view(b, h, w, d).permute(0, 3, 1, 2)  # (B, D, h, w)
        if self.ema:
            codebook_loss = z_e.new_zeros(())
        else:
            codebook_loss = F.mse_loss(z_q, z_e.detach())
        commitment_loss = self.beta * F.mse_loss(z_e, z_q.detach())
        # Straight-through with an exact forward value: z_e - sg[z_e] is exactly 0 going forward
        # and the identity onto z_e going backward; sg[z_q] keeps the codebook out of this path.
        z_q_st = z_e + (z_q - z_e).detach()                          # straight-through (notes)
        perplexity, usage = code_statistics(counts)
        return QuantizerOutput(
            quantized=z_q_st, indices=indices.view(b, h, w), codebook_loss=codebook_loss,
            commitment_loss=commitment_loss, kl_loss=z_e.new_zeros(()), perplexity=perplexity,
            usage=usage, counts=counts,
            distances=dist_sq.detach().view(b, h, w, -1) if return_distances else None)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Codebook vectors for a (B, h, w) index grid, as (B, D, h, w)."""
        return F.embedding(indices, self.codebook).permute(0, 3, 1, 2)

    # -- codebook health ------------------------------------------------------------
    def _init_from(self, flat: torch.Tensor) -> None:
        with torch.no_grad():
            centres = _broadcast(kmeans(flat, self.num_codes).contiguous())
            self.codebook.data.copy_(centres)
            self.ema_sums.copy_(centres)
            self.ema_counts.fill_(1.0)
            self.initialized.fill_(True)

    def _update_codebook(self, flat: torch.Tensor, indices: torch.Tensor, counts: torch.Tensor) -> None:
        counts = _all_reduce_sum(counts.clone())
        if self.ema:
            sums = torch.zeros_like(self.ema_sums).index_add_(0, indices, flat)
            sums = _all_reduce_sum(sums)
            self.ema_counts.mul_(self.decay).add_(counts.float(), alpha=1 - self.decay)
            self.ema_sums.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            n = self.ema_counts.sum()
            smoothed = (self.ema_counts + self.eps) / (n + self.num_codes * self.eps) * n  # Laplace
            self.codebook.data.copy_(self.ema_sums / smoothed[:, None])
        if self.dead_code_steps > 0:
            self.steps_unused.add_(1).masked_fill_(counts > 0, 0)
            dead = self.steps_unused >= self.dead_code_steps
            n_dead = int(dead.sum())
            if n_dead:
                pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
                fresh = _broadcast(flat[pick].contiguous())
                self.codebook.data[dead] = fresh
                self.ema_sums[dead] = fresh
                self.ema_counts[dead] = 1.0
                self.steps_unused[dead] = 0


class GumbelQuantizer(nn.Module):
    """Gumbel-Softmax bottleneck (notes, "Gumbel Softmax").

    The encoder emits K logits per position; y = softmax((logits + g) / tau) with
    g ~ Gumbel(0, 1) (hard straight-through one-hot when ``hard``), z_q = y @ codebook.
    A KL term to the uniform prior, KL(q || U) = sum_k q_k log(K q_k), keeps codes in use.
    In eval mode the choice is deterministic: argmax of the logits.
    ``tau`` is set by the training loop from :func:`gumbel_temperature`.
    """

    def __init__(self, num_codes: int, code_dim: int, *, kl_weight: float = 5e-4, hard: bool = False,
                 tau: float = 1.0) -> None:
        super().__init__()
        self.num_codes, self.code_dim = num_codes, code_dim
        self.kl_weight, self.hard, self.tau = kl_weight, hard, tau
        self.codebook = nn.Parameter(torch.randn(num_codes, code_dim))

    def forward(self, logits: torch.Tensor, return_distances: bool = False) -> QuantizerOutput:
        b, k, h, w = logits.shape
        if self.training:
            y = gumbel_softmax(logits, self.tau, self.hard, dim=1)             # (B, K, h, w)
        else:
            y = F.one_hot(logits.argmax(1), k).permute(0, 3, 1, 2).to(logits.dtype)
        z_q = torch.einsum("bkhw,kd->bdhw", y, self.codebook)                  # (B, D, h, w)
        indices = logits.argmax(1)                                              # (B, h, w)
        q = F.softmax(logits, dim=1)
        kl = (q * (F.log_softmax(logits, dim=1) + math.log(k))).sum(1).mean()
        counts = torch.bincount(indices.flatten(), minlength=k)
        perplexity, usage = code_statistics(counts)
        zero = logits.new_zeros(())
        return QuantizerOutput(
            quantized=z_q, indices=indices, codebook_loss=zero, commitment_loss=zero,
            kl_loss=self.kl_weight * kl, perplexity=perplexity, usage=usage, counts=counts,
            distances=(-logits.detach().permute(0, 2, 3, 1)) if return_distances else None)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding(indices, self.codebook).permute(0, 3, 1, 2)


def gumbel_temperature(step: int, start: float = 1.0, minimum: float = 0.1, rate: float = 1e-4) -> float:
    """Annealing schedule tau(step) = max(minimum, start * exp(-rate * step))."""
    return max(minimum, start * math.exp(-rate * step))
