"""Likelihoods under a class-conditional prior p(z | c): given the label, and marginalised over classes.

A class-conditional PixelCNN gives log p(z | c) = sum_ij log p(z_ij | z_<ij, c) (notes, "PixelCNN",
class conditioning). Two likelihoods of a code grid follow from it:

* given the label c (when the image has one, e.g. a held-out digit):  -log p(z | c);
* class-marginalised (every input, a user's file too):
      log p(z) = logsumexp_c [ log p(z | c) + log p(c) ],
  with p(c) uniform unless the bundle records class frequencies. Its posterior
  p(c | z) = p(z | c) p(c) / p(z) is the prior used as a generative classifier.

Each needs one teacher-forced pass per class (C batched passes for the marginal).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MARGINAL_NOTE = "class-marginalised −log p(z) = −logsumexp_c[log p(z|c) + log p(c)]"


def is_conditional(prior) -> bool:
    """True for a prior that needs a class label (``num_classes`` > 0)."""
    return bool(getattr(getattr(prior, "config", None), "num_classes", 0))


def num_classes(prior) -> int:
    return int(getattr(prior.config, "num_classes", 0) or 0)


def class_frequencies(history: dict | None, classes: int) -> np.ndarray | None:
    """The prior's training class frequencies if the bundle records them (history.prior.class_frequencies)."""
    freq = ((history or {}).get("prior") or {}).get("class_frequencies")
    try:
        values = np.asarray(freq, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if freq is None or len(values) != classes or not np.isfinite(values).all() or (values < 0).any() \
            or values.sum() <= 0:
        return None
    return values / values.sum()


def log_class_prior(classes: int, frequencies: np.ndarray | None = None) -> np.ndarray:
    """log p(c), (C,): uniform -log C, or the given frequencies (classes never seen get log 0 = -inf)."""
    if frequencies is None:
        return np.full(classes, -math.log(classes))
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(frequencies, dtype=np.float64) / np.sum(frequencies))


def describe_class_prior(frequencies: np.ndarray | None) -> str:
    return "uniform p(c)" if frequencies is None else "p(c) = the training class frequencies"


@torch.no_grad()
def class_position_nll(prior, codes: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """-log p(z_ij | z_<ij, c) for every class c: float64 (N, C, H, W), one teacher-forced pass per
    class and batch (the same pass as explorer.core.anomaly.position_nll, given each class)."""
    n, classes = codes.shape[0], num_classes(prior)
    out = np.zeros((n, classes) + tuple(codes.shape[1:]))
    was = prior.training
    prior.eval()
    device = next(prior.parameters()).device
    try:
        for start in range(0, n, batch_size):
            c = codes[start:start + batch_size].to(device)
            for label in range(classes):
                labels = torch.full((c.shape[0],), label, dtype=torch.long, device=device)
                logits = prior.logits(c, labels).double()                             # (B, K, H, W)
                out[start:start + c.shape[0], label] = F.cross_entropy(logits, c, reduction="none").cpu().numpy()
    finally:
        prior.train(was)
    return out


def marginal_nll(class_nll: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """-log p(z) = -logsumexp_c [-nll_c + log p(c)] in nats: (N, C) -> (N,)."""
    a = np.asarray(log_prior, dtype=np.float64)[None, :] - np.asarray(class_nll, dtype=np.float64)
    top = a.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return -(top[:, 0] + np.log(np.exp(a - top).sum(axis=1)))


def class_posterior(class_nll: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """p(c | z) = p(z | c) p(c) / p(z): (N, C), rows sum to 1."""
    a = np.asarray(log_prior, dtype=np.float64)[None, :] - np.asarray(class_nll, dtype=np.float64)
    a = a - a.max(axis=1, keepdims=True)
    p = np.exp(a)
    return p / p.sum(axis=1, keepdims=True)


def valid_labels(labels, count: int, classes: int) -> np.ndarray | None:
    """(N,) int64 labels when there are ``count`` of them, each in [0, classes) or -1 (unknown); else None."""
    if labels is None:
        return None
    arr = np.asarray(labels).reshape(-1)
    if len(arr) != count:
        return None
    arr = arr.astype(np.int64)
    return np.where((arr >= 0) & (arr < classes), arr, -1)
