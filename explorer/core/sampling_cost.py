"""How slow raster sampling is, measured on this machine with this model (notes, "PixelCNN:
sampling needs one pass per position"): the naive sampler (H·W full passes), the fast one
(cached activations) and one teacher-forced pass (what a training step does for a grid)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Generator

import torch

from .sampling import RasterSampler


@dataclass
class SamplingCost:
    """Wall time of raster sampling on this machine with this model (notes: sampling is slow)."""
    positions: int              # H * W: steps per grid (full passes for the naive sampler)
    n: int                      # grids per batch measured
    naive_grid_s: float         # one grid, one full forward pass per position
    fast_grid_s: float          # one grid, cached activations (only the new position computed)
    teacher_forcing_s: float    # one teacher-forced pass over a whole grid (what training does)

    @property
    def naive_step_s(self) -> float:
        return self.naive_grid_s / self.positions

    @property
    def fast_step_s(self) -> float:
        return self.fast_grid_s / self.positions

    @property
    def speedup(self) -> float:
        """naive / fast time per grid."""
        return self.naive_grid_s / max(self.fast_grid_s, 1e-12)


def sampling_cost_steps(prior, n: int = 1, repeats: int = 1,
                        label: int | None = None) -> Generator[None, None, SamplingCost]:
    """:func:`measure_sampling_cost` as a generator that yields after every raster step (so a
    worker can stop it between steps); its return value is the :class:`SamplingCost`."""
    cfg = prior.config
    labels = None if not cfg.num_classes else (0 if label is None else int(label))
    timings = {}
    for method in ("naive", "fast"):
        best = math.inf
        for r in range(max(1, repeats)):
            elapsed = 0.0
            steps = RasterSampler(prior, method).steps(n, labels=labels, generator=torch.Generator().manual_seed(r))
            while True:
                start = time.perf_counter()
                done = next(steps, None) is None
                elapsed += time.perf_counter() - start           # the time between yields is not counted
                if done:
                    break
                yield
            best = min(best, elapsed)
        timings[method] = best
    grid = torch.zeros(n, cfg.height, cfg.width, dtype=torch.long)     # one teacher-forced pass, same batch
    lab = None if labels is None else torch.full((n,), labels, dtype=torch.long)
    was_training = prior.training
    prior.eval()
    best = math.inf
    try:
        for _ in range(max(1, repeats)):
            with torch.no_grad():
                start = time.perf_counter()
                prior.logits(grid, lab)
                best = min(best, time.perf_counter() - start)
            yield
    finally:
        prior.train(was_training)
    return SamplingCost(cfg.height * cfg.width, n, timings["naive"], timings["fast"], best)


def measure_sampling_cost(prior, n: int = 1, repeats: int = 1, label: int | None = None) -> SamplingCost:
    """Time one grid with each sampler (best of ``repeats``) and one teacher-forced pass."""
    steps = sampling_cost_steps(prior, n, repeats, label)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
