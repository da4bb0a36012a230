"""An ensemble of M priors of one architecture whose conditionals are averaged (see
:class:`PriorEnsemble`); it is again an exact autoregressive model with the shared API."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .prior import AutoregressivePrior, PriorConfig, build_prior, register_ensemble


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

    def cache_bytes_per_grid(self) -> int:
        return sum(m.cache_bytes_per_grid() for m in self.members)

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


register_ensemble(PriorEnsemble)
