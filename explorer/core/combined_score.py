"""One anomaly score for near *and* far outliers: the density of the other scores (DoSE).

The likelihood ratio (Ren et al. 2019) separates near outliers (a held-out 5 for a prior of
digits 1-4) but cancels on inputs far from every digit (noise, blank images, letters), which
both priors find equally surprising; the complexity-corrected score (Serrà et al. 2020) catches
those but is weaker near. "Density of States Estimation" (DoSE; Morningstar et al., AISTATS 2021)
combines such statistics: fit a density to the in-distribution images' vector of statistics
s(x) = (score_1(x), ..., score_P(x)), and call an input anomalous when its vector is unlikely:

    combined(x) = -log q(s(x)),   q = a Gaussian kernel density over the fitted images' vectors

Each statistic is first standardised by the fitted images' mean and standard deviation, and the
kernel width follows Silverman's rule, h = (M (P + 2) / 4)^(-1 / (P + 4)) for M fitted images.
Unlike a threshold on one score this is two-sided: an input whose NLL is *too low* for a digit
(a blank image) is as unlikely under q as one whose NLL is too high.

The statistics used: ``ratio`` and ``complexity`` when a background prior is available, else
``nll`` and ``complexity``. It must be fitted on normal images only (the panel and the CLI use
the validation split's images of the prior's classes); the fitted images themselves are scored
by 2-fold cross-fitting (:func:`cross_fitted`), so none is scored by a density fitted on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARTS_WITH_BACKGROUND = ("ratio", "complexity")
PARTS_WITHOUT_BACKGROUND = ("nll", "complexity")
MIN_FIT_IMAGES = 8


def combined_parts(available) -> tuple[str, ...]:
    """Which statistics the combined score uses, given the score kinds at hand."""
    return PARTS_WITH_BACKGROUND if "ratio" in available else PARTS_WITHOUT_BACKGROUND


@dataclass
class CombinedScore:
    """A kernel density over standardised score vectors of normal images (see the module docstring)."""
    parts: tuple[str, ...]
    mean: np.ndarray               # (P,)
    std: np.ndarray                # (P,)
    reference: np.ndarray          # (M, P) the fitted images' standardised vectors
    bandwidth: float

    def statistics(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        missing = [p for p in self.parts if p not in scores]
        if missing:
            raise ValueError(f"the combined score needs the {', '.join(missing)} score(s)")
        return (np.stack([np.asarray(scores[p], np.float64) for p in self.parts], axis=1) - self.mean) / self.std

    def score(self, scores: dict[str, np.ndarray], chunk: int = 2048) -> np.ndarray:
        """-log q(s(x)) (N,): higher = more anomalous. Constant terms dropped (scores compare, not nats)."""
        x = self.statistics(scores)
        out = np.empty(len(x))
        h2 = 2.0 * self.bandwidth ** 2
        for start in range(0, len(x), chunk):
            d = ((x[start:start + chunk, None, :] - self.reference[None]) ** 2).sum(axis=-1) / h2   # (B, M)
            low = d.min(axis=1)
            out[start:start + chunk] = low - np.log(np.exp(-(d - low[:, None])).mean(axis=1))
        return out


def fit_combined(scores_in: dict[str, np.ndarray], parts: tuple[str, ...] | None = None) -> CombinedScore:
    """Fit the density on normal images' scores (kind -> (M,)); raises ValueError with too few."""
    parts = tuple(parts or combined_parts(scores_in))
    missing = [p for p in parts if p not in scores_in]
    if missing:
        raise ValueError(f"the combined score needs the {', '.join(missing)} score(s)")
    x = np.stack([np.asarray(scores_in[p], np.float64) for p in parts], axis=1)
    if len(x) < MIN_FIT_IMAGES:
        raise ValueError(f"the combined score is fitted on normal images: need at least {MIN_FIT_IMAGES}, "
                         f"have {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError("scores must be finite")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    m, p = x.shape
    bandwidth = float((m * (p + 2) / 4.0) ** (-1.0 / (p + 4)))
    return CombinedScore(parts, mean, std, (x - mean) / std, bandwidth)


def _subset(scores: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[index] for k, v in scores.items()}


def cross_fitted(scores_in: dict[str, np.ndarray], parts: tuple[str, ...] | None = None,
                 seed: int = 0) -> np.ndarray:
    """The combined score of the normal images themselves, 2-fold: each half scored by a density
    fitted on the other half (so the normal set's AUROC is not flattered by scoring the fit)."""
    n = len(next(iter(scores_in.values())))
    order = np.random.default_rng(seed).permutation(n)
    halves = (order[: n // 2], order[n // 2:])
    out = np.empty(n)
    for mine, other in (halves, halves[::-1]):
        if len(mine):
            out[mine] = fit_combined(_subset(scores_in, other), parts).score(_subset(scores_in, mine))
    return out


def combine_sets(normal: dict[str, np.ndarray], others: dict[str, dict[str, np.ndarray]],
                 parts: tuple[str, ...] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Combined scores of the normal set (cross-fitted) and of every other set (density fitted on all normal)."""
    fit = fit_combined(normal, parts)
    return cross_fitted(normal, fit.parts), {key: fit.score(s) for key, s in others.items()}
