"""Raster-order sampling from an autoregressive prior (notes, "PixelCNN: Inference").

    z_{i,j} ~ p(z_{i,j} | z_{<i,j}) = Cat(pi(z_{<i,j})),   visiting (i, j) row by row.

Two strategies share one loop and one stream of random numbers, so for the same
generator they return identical grids:

* ``"naive"``: one full forward pass of the prior per position (H*W passes).
* ``"fast"``: the prior's incremental evaluator computes only the new position's
  activations from cached ones (Ramachandran et al. 2017, "Fast Generation for
  Convolutional Autoregressive Models"): per-step work is bounded by the kernel windows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class RasterStep:
    """One raster step, as the sampling animation shows it (tensors are CPU copies)."""
    position: tuple[int, int]   # (i, j) of the code just decided
    t: int                      # raster index i * W + j
    probs: torch.Tensor         # (n, K) p(z_ij | z_<ij) after temperature / top-k
    chosen: torch.Tensor        # (n,) the code now at (i, j)
    sampled: torch.Tensor       # (n,) bool: True if drawn, False if it was given (kept)
    grid: torch.Tensor          # (n, H, W) the grid so far (later positions hold their initial value)
    log_probs: torch.Tensor | None = None   # (n, K) the model's own log p(z_ij | z_<ij) (T = 1, no top-k)


class Stepper(Protocol):
    def logits_at(self, i: int, j: int) -> torch.Tensor: ...          # (n, K)
    def commit(self, i: int, j: int, codes: torch.Tensor) -> None: ...


class GridPrior(Protocol):
    """What sampling needs of a prior (``AutoregressivePrior`` is one); kept structural so this
    module does not import the models that import it."""
    config: object     # has num_codes, height, width
    training: bool

    def logits(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...  # (n, K, H, W)
    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None, revision: int = 2) -> Stepper: ...
    def parameters(self) -> Iterator[nn.Parameter]: ...
    def eval(self) -> nn.Module: ...
    def train(self, mode: bool = True) -> nn.Module: ...


class NaiveStepper:
    """One full teacher-forced forward pass per position."""

    def __init__(self, prior: "GridPrior", grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.prior, self.grid, self.labels = prior, grid.clone(), labels

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        return self.prior.logits(self.grid, self.labels)[:, :, i, j]

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        self.grid[:, i, j] = codes


def conditional_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """softmax(logits / T) restricted to the top-k entries; T = 0 means greedy (one-hot)."""
    logits = logits.float()
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if temperature <= 0:
        return F.one_hot(logits.argmax(-1), logits.shape[-1]).float()
    return F.softmax(logits if temperature == 1.0 else logits / temperature, dim=-1)   # x / 1 is x: skip it


def draw(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw: the first k with cdf_k >= u * cdf_K, for u in (0, 1]; (n,)."""
    cdf = probs.cumsum(-1)
    idx = (cdf < u[:, None] * cdf[:, -1:]).sum(-1)
    return idx.clamp_(max=probs.shape[-1] - 1)


class RasterSampler:
    """Samples code grids from a prior in raster order, one position at a time."""

    def __init__(self, prior: "GridPrior", method: str = "fast") -> None:
        if method not in ("fast", "naive"):
            raise ValueError("method must be 'fast' or 'naive'")
        self.prior, self.method = prior, method

    @torch.no_grad()
    def steps(self, n: int = 1, temperature: float = 1.0, top_k: int | None = None,
              generator: torch.Generator | None = None, given: torch.Tensor | None = None,
              mask: torch.Tensor | None = None, labels: torch.Tensor | int | None = None,
              shape: tuple[int, int] | None = None, *, record: bool = True) -> Iterator[RasterStep]:
        """Yield one :class:`RasterStep` per position in raster order.

        ``given``: (n, H, W) or (H, W) codes to keep; entries < 0 mean "sample here".
        ``mask``: (n, H, W) or (H, W) bool, True where a new code is drawn (overrides the
        negative-entry convention). Positions not drawn keep their ``given`` code exactly.
        ``record`` False (what :meth:`sample` needs): a step's ``grid`` is the live grid, not a
        copy, and ``log_probs`` is None; at a batch of 16 the cached transformer's step is so
        cheap that these per-step copies are a tenth of it. The draws are the same.
        """
        prior = self.prior
        device = next(prior.parameters()).device
        h, w = shape or (prior.config.height, prior.config.width)
        if given is not None:
            given = torch.as_tensor(given, dtype=torch.long)
            h, w = given.shape[-2:]
            given = given.expand(n, h, w).to(device)
        if mask is not None:
            draw_here = torch.as_tensor(mask, dtype=torch.bool).expand(n, h, w).to(device)
        elif given is not None:
            draw_here = given < 0
        else:
            draw_here = torch.ones(n, h, w, dtype=torch.bool, device=device)
        if given is not None and bool(((given < 0) & ~draw_here).any()):
            raise ValueError("every position not sampled needs a given code >= 0")
        if given is not None and bool((given >= prior.config.num_codes).any()):
            raise ValueError(f"given codes must be < K = {prior.config.num_codes}")
        grid = given.clamp(min=0).clone() if given is not None else torch.zeros(n, h, w, dtype=torch.long, device=device)
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.long, device=device).expand(n)
        # All randomness is drawn up front, so both strategies consume the generator identically.
        gen_device = generator.device if generator is not None else torch.device("cpu")
        u = torch.rand(n, h, w, generator=generator, device=gen_device).to(device).clamp_(min=1e-12)

        was_training = prior.training
        prior.eval()
        try:
            stepper: Stepper = (prior.incremental(grid, labels) if self.method == "fast"
                                else NaiveStepper(prior, grid, labels))
            everywhere = bool(draw_here.all())
            for i in range(h):
                for j in range(w):
                    logits = stepper.logits_at(i, j)                              # (n, K)
                    probs = conditional_probs(logits, temperature, top_k)
                    drawn = draw(probs, u[:, i, j])
                    codes = drawn if everywhere else torch.where(draw_here[:, i, j], drawn, grid[:, i, j])
                    grid[:, i, j] = codes
                    stepper.commit(i, j, codes)
                    if not record:
                        yield RasterStep(position=(i, j), t=i * w + j, probs=probs, chosen=codes,
                                         sampled=draw_here[:, i, j], grid=grid)
                        continue
                    yield RasterStep(position=(i, j), t=i * w + j, probs=probs.cpu(), chosen=codes.cpu(),
                                     sampled=draw_here[:, i, j].cpu(), grid=grid.cpu().clone(),
                                     log_probs=F.log_softmax(logits.float(), dim=-1).cpu())
        finally:
            prior.train(was_training)

    def sample(self, n: int = 1, **kwargs) -> torch.Tensor:
        """Run :meth:`steps` to the end and return the (n, H, W) long grid."""
        last = None
        for last in self.steps(n, **kwargs, record=False):
            pass
        assert last is not None
        return last.grid.cpu().clone()
