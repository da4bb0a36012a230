"""Exact likelihoods of code grids and anomaly scores built on them (notes, "Likelihood and anomaly detection").

The prior gives every code grid an exact log-likelihood, one teacher-forced pass:

    log p(z) = sum_ij log p(z_ij | z_<ij)        bits(z) = -log p(z) / ln 2

and the per-position terms -log p(z_ij | z_<ij) show *where* the prior is surprised (they sum
to -log p(z)). Three anomaly scores, all "higher = more anomalous":

* ``nll``: -log p_in(z) in nats. The notes' rule; known to be weak: a likelihood also tracks
  how simple an input is (Nalisnick et al. 2019), e.g. a 7 scores close to a 4.
* ``ratio``: -log p_in(z) + log p_bg(z) (Ren et al. 2019). Needs a *background* prior over the
  same codes (the same VQ-VAE); the terms both priors share (simple strokes, empty background)
  cancel. Ren et al. train the background on perturbed in-distribution inputs; here any prior
  over the same code grid will do, e.g. the all-digit `mnist` prior for `mnist-1to4`.
  Caveat: a background trained on all digits has seen the outlier classes (not their held-out
  images), so this is not a purely one-class detector.
* ``complexity``: bits(z) - L(x) (Serrà et al. 2020), L = a generic compressor's code length
  in bits, an estimate of the input's complexity. Needs no second model. Compressors:
  ``png-image`` (PNG of the input image, Pillow optimize=True, as in the paper; here it
  measures pixels while the prior measures 49 codes, so it dominates the score),
  ``png-codes`` (PNG of the code grid) and ``adaptive-codes`` (default: the code length of an
  adaptive order-0 arithmetic coder over the codes in raster order, Krichevsky-Trofimov
  counts; a universal compressor of the object the prior models, with no byte granularity).

* ``combined``: one score for near *and* far outliers, fitted on in-distribution scores
  (:mod:`explorer.core.combined_score`, DoSE: Morningstar et al. 2021).
* ``nll-label`` (class-conditional priors, images with labels): -log p(z | c), the NLL given the
  image's own label. For such priors every other score uses the class-marginalised
  -log p(z) = -logsumexp_c [log p(z | c) + log p(c)] (:mod:`explorer.core.class_likelihood`).

AUROC is the Mann-Whitney statistic with midranks, so ties count one half.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .metrics import INFERENCE_BATCH, encode_images
from .models.class_heads import ClassHeadsTransformerPrior

SCORE_KINDS = ("nll", "ratio", "complexity", "combined", "nll-label")
BASE_KINDS = ("nll", "ratio", "complexity", "nll-label")     # computed per image; "combined" is fitted on them
COMPRESSORS = ("adaptive-codes", "png-codes", "png-image")
SCORE_UNITS = {"nll": "nats", "ratio": "nats", "complexity": "bits", "combined": "", "nll-label": "nats"}


# --------------------------------------------------------------------------------------
# Likelihoods
# --------------------------------------------------------------------------------------
@torch.no_grad()
def position_nll(prior, codes: torch.Tensor, labels: torch.Tensor | None = None,
                 batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """-log p(z_ij | z_<ij) in nats for every position, one teacher-forced pass per batch.

    codes: long (N, H, W) -> float64 (N, H, W); row n sums to -log p(z_n).
    """
    was = prior.training
    prior.eval()
    device = next(prior.parameters()).device
    out = []
    try:
        for start in range(0, codes.shape[0], batch_size):
            c = codes[start:start + batch_size].to(device)
            lab = None if labels is None else labels[start:start + batch_size].to(device)
            logits = prior.logits(c, lab)                                   # (B, K, H, W)
            out.append(F.cross_entropy(logits.double(), c, reduction="none").cpu())   # (B, H, W)
    finally:
        prior.train(was)
    if not out:
        return np.zeros((0,) + tuple(codes.shape[1:]), dtype=np.float64)
    return torch.cat(out).numpy()


def nats_to_bits(nats: np.ndarray | float) -> np.ndarray | float:
    return nats / math.log(2)


@dataclass
class Likelihoods:
    """Code grids with the prior's per-position surprise; totals are sums over positions.

    For a class-conditional prior the map is given one class per image (``map_labels``: its label,
    or the most probable class p(c | z) where it has none), and ``class_nll`` holds -log p(z | c)
    for every class, from which :attr:`marginal_nll` follows.
    """
    codes: np.ndarray              # int64 (N, H, W)
    position_nll: np.ndarray       # float64 (N, H, W), nats: -log p(z_ij | z_<ij) (given map_labels)
    class_nll: np.ndarray | None = None        # float64 (N, C): -log p(z | c); None for an unconditional prior
    log_class_prior: np.ndarray | None = None  # (C,) log p(c)
    labels: np.ndarray | None = None           # int64 (N,) the images' labels, -1 where unknown
    map_labels: np.ndarray | None = None       # int64 (N,) the class each map is given

    @property
    def conditional(self) -> bool:
        return self.class_nll is not None

    @property
    def nll(self) -> np.ndarray:
        """-log p(z) in nats, (N,) (a conditional prior: -log p(z | map_labels))."""
        return self.position_nll.sum(axis=(1, 2))

    @property
    def marginal_nll(self) -> np.ndarray:
        """-log p(z) in nats, (N,); class-marginalised for a class-conditional prior."""
        if self.class_nll is None:
            return self.nll
        from .class_likelihood import marginal_nll
        return marginal_nll(self.class_nll, self.log_class_prior)

    @property
    def label_nll(self) -> np.ndarray | None:
        """-log p(z | label) in nats (N,), or None unless the prior is conditional and every label known."""
        if self.class_nll is None or self.labels is None or (self.labels < 0).any():
            return None
        return self.class_nll[np.arange(len(self.labels)), self.labels]

    @property
    def bits(self) -> np.ndarray:
        """-log2 p(z), (N,)."""
        return nats_to_bits(self.nll)


def as_float_images(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 or float images (N, C, H, W) -> float32 in [0, 1]."""
    x = torch.as_tensor(images)
    return x.float().div(255.0) if x.dtype == torch.uint8 else x.float()


@torch.no_grad()
def encode(vqvae, images: torch.Tensor | np.ndarray, batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
    """Code grids (N, h, w) long of images (N, C, H, W), uint8 or float in [0, 1], tensor or array
    (:func:`.metrics.encode_images`, which converts batch by batch)."""
    return encode_images(vqvae, torch.as_tensor(images), batch_size)


def code_likelihoods(prior, codes: torch.Tensor, labels=None, log_class_prior: np.ndarray | None = None,
                     batch_size: int = INFERENCE_BATCH) -> Likelihoods:
    """Score code grids (N, h, w) with the prior; a class-conditional prior scores every class
    (C batched passes) and maps each grid given its label, else its most probable class."""
    from . import class_likelihood as cl
    codes_np = codes.numpy().astype(np.int64)
    if not cl.is_conditional(prior):
        return Likelihoods(codes_np, position_nll(prior, codes, batch_size=batch_size))
    classes = cl.num_classes(prior)
    log_pc = cl.log_class_prior(classes) if log_class_prior is None else np.asarray(log_class_prior, np.float64)
    per_class = cl.class_position_nll(prior, codes, batch_size)                  # (N, C, h, w)
    class_nll = per_class.sum(axis=(2, 3))
    known = cl.valid_labels(labels, len(codes_np), classes)
    best = cl.class_posterior(class_nll, log_pc).argmax(axis=1) if len(codes_np) else np.zeros(0, np.int64)
    map_labels = best if known is None else np.where(known >= 0, known, best)
    rows = np.arange(len(codes_np))
    return Likelihoods(codes_np, per_class[rows, map_labels], class_nll, log_pc,
                       None if known is None else known, map_labels.astype(np.int64))


def likelihoods(vqvae, prior, images: torch.Tensor | np.ndarray, batch_size: int = INFERENCE_BATCH, labels=None,
                log_class_prior: np.ndarray | None = None) -> Likelihoods:
    """Encode images with the VQ-VAE and score their code grids with the prior (``labels``: see
    :func:`code_likelihoods`, used by class-conditional priors only)."""
    codes = encode(vqvae, images, batch_size)
    return code_likelihoods(prior, codes, labels, log_class_prior, batch_size)


def total_nll(prior, codes: torch.Tensor, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """-log p(z) in nats (N,); class-marginalised (uniform p(c)) when the prior is class-conditional."""
    return code_likelihoods(prior, codes, batch_size=batch_size).marginal_nll


# --------------------------------------------------------------------------------------
# Generic compressors (input complexity)
# --------------------------------------------------------------------------------------
def _png_bits(array: np.ndarray) -> int:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", optimize=True)
    return 8 * len(buf.getvalue())


def png_image_bits(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """PNG size in bits of each image (N, C, H, W) as 8-bit grey or RGB (Pillow, optimize=True)."""
    x = as_float_images(images).clamp(0, 1).mul(255).round().to(torch.uint8).numpy()
    return np.array([_png_bits(a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)) for a in x], dtype=np.float64)


def png_code_bits(codes: np.ndarray) -> np.ndarray:
    """PNG size in bits of each code grid (N, H, W) stored as an 8-bit grey image (values = codes)."""
    return np.array([_png_bits(np.asarray(c, dtype=np.uint8)) for c in codes], dtype=np.float64)


def adaptive_code_bits(codes: np.ndarray, num_codes: int) -> np.ndarray:
    """Code length in bits of an adaptive order-0 arithmetic coder over each grid in raster order.

    Symbol t costs -log2 (n_k + 1/2) / (t + K/2), n_k = how often k came before (Krichevsky-
    Trofimov); it knows nothing about images, only the counts seen so far in this grid.
    """
    flat = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)     # (N, H*W)
    n, length = flat.shape
    counts = np.zeros((n, num_codes))
    bits = np.zeros(n)
    rows = np.arange(n)
    for t in range(length):
        k = flat[:, t]
        bits -= np.log2((counts[rows, k] + 0.5) / (t + num_codes / 2))
        counts[rows, k] += 1
    return bits


def complexity_bits(compressor: str, codes: np.ndarray, images: torch.Tensor | np.ndarray | None,
                    num_codes: int) -> np.ndarray:
    """L(x) in bits for the chosen compressor (see the module docstring)."""
    if compressor == "adaptive-codes":
        return adaptive_code_bits(codes, num_codes)
    if compressor == "png-codes":
        return png_code_bits(codes)
    if compressor == "png-image":
        if images is None:
            raise ValueError("the png-image compressor needs the images")
        return png_image_bits(images)
    raise ValueError(f"unknown compressor {compressor!r}; choose one of {', '.join(COMPRESSORS)}")


# --------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------
def ratio_score(nll_in: np.ndarray, nll_background: np.ndarray) -> np.ndarray:
    """-log p_in(z) + log p_bg(z) in nats (Ren et al. 2019): higher = more anomalous."""
    return np.asarray(nll_in, dtype=np.float64) - np.asarray(nll_background, dtype=np.float64)


def complexity_score(nll_in: np.ndarray, compressed_bits: np.ndarray) -> np.ndarray:
    """-log2 p_in(z) - L(x) in bits (Serrà et al. 2020): higher = more anomalous."""
    return nats_to_bits(np.asarray(nll_in, dtype=np.float64)) - np.asarray(compressed_bits, dtype=np.float64)


@dataclass
class ScoredImages:
    """Every score of a set of images; ``scores[kind]`` is (N,), higher = more anomalous."""
    likelihoods: Likelihoods                     # under the in-distribution prior (the unshifted images)
    scores: dict[str, np.ndarray]                # kind -> (N,); "ratio" only with a background,
    #                                              "nll-label" only for a conditional prior and labelled images


def shifted(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Images (N, C, H, W) moved by (dy, dx) pixels, zeros shifted in (nothing wraps around)."""
    if dy == 0 and dx == 0:
        return images
    _, _, h, w = images.shape
    padded = F.pad(images, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))   # (N, C, H+|dy|, W+|dx|)
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[:, :, top:top + h, left:left + w]


def _scores_once(vqvae, prior, x: torch.Tensor, background_prior, compressor: str,
                 batch_size: int, labels=None, log_class_prior=None) -> tuple[Likelihoods, dict[str, np.ndarray]]:
    lik = likelihoods(vqvae, prior, x, batch_size, labels, log_class_prior)
    nll = lik.marginal_nll
    scores = {"nll": nll,
              "complexity": complexity_score(nll, complexity_bits(compressor, lik.codes, x,
                                                                  vqvae.config.num_codes))}
    if background_prior is not None:
        scores["ratio"] = ratio_score(nll, total_nll(background_prior, torch.from_numpy(lik.codes), batch_size))
    if lik.label_nll is not None:
        scores["nll-label"] = lik.label_nll
    return lik, scores


def score_images(vqvae, prior, images: torch.Tensor | np.ndarray, background_prior=None,
                 compressor: str = "adaptive-codes", batch_size: int = INFERENCE_BATCH, shifts: int = 0,
                 labels=None, log_class_prior: np.ndarray | None = None) -> ScoredImages:
    """All scores of ``images`` (N, C, H, W): nll, complexity, and ratio when a background is given.

    A class-conditional prior: nll (and the scores built on it) is class-marginalised with
    ``log_class_prior`` (default uniform); "nll-label" is added when every image has a label.

    The background prior must model the codes of the same VQ-VAE (see :func:`same_vqvae`).
    ``shifts`` = s > 0 averages every score over the image moved by -s..s pixels in each
    direction ((2s+1)^2 copies): the code grid of a digit changes when it moves by one pixel, and
    the average is less sensitive to where the encoder's 4x4 cells happen to fall.
    """
    x = as_float_images(images)
    lik, scores = _scores_once(vqvae, prior, x, background_prior, compressor, batch_size, labels, log_class_prior)
    if shifts > 0:
        offsets = [(dy, dx) for dy in range(-shifts, shifts + 1) for dx in range(-shifts, shifts + 1)]
        total = {k: np.zeros_like(v) for k, v in scores.items()}
        for dy, dx in offsets:
            part = scores if (dy, dx) == (0, 0) else \
                _scores_once(vqvae, prior, shifted(x, dy, dx), background_prior, compressor, batch_size,
                             labels, log_class_prior)[1]
            for k in total:
                total[k] += part[k]
        scores = {k: v / len(offsets) for k, v in total.items()}
    return ScoredImages(lik, scores)


def same_vqvae(a, b) -> bool:
    """True when two VQ-VAEs have identical configs and tensors (so their codes mean the same)."""
    if a.config.to_dict() != b.config.to_dict():
        return False
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


# --------------------------------------------------------------------------------------
# ROC analysis: positives are the anomalies ("out"), negatives the normal images ("in")
# --------------------------------------------------------------------------------------
def _check_sets(scores_in: np.ndarray, scores_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s_in = np.asarray(scores_in, dtype=np.float64).ravel()
    s_out = np.asarray(scores_out, dtype=np.float64).ravel()
    if len(s_in) == 0 or len(s_out) == 0:
        raise ValueError("AUROC needs at least one normal and one anomalous image")
    if not (np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise ValueError("scores must be finite")
    return s_in, s_out


def midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(v, kind="mergesort")
    sorted_v = v[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_v)) + 1]        # first index of each run of ties
    ends = np.r_[starts[1:], len(v)]                                 # one past the last
    ranks = np.empty(len(v))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """P(score_out > score_in) + 1/2 P(tie): Mann-Whitney U / (n_in n_out), midranks for ties."""
    s_in, s_out = _check_sets(scores_in, scores_out)
    ranks = midranks(np.r_[s_in, s_out])
    n_in, n_out = len(s_in), len(s_out)
    u_out = ranks[n_in:].sum() - n_out * (n_out + 1) / 2
    return float(u_out / (n_in * n_out))


@dataclass
class RocCurve:
    fpr: np.ndarray                # (T,) from 0 to 1: share of normal images flagged
    tpr: np.ndarray                # (T,) from 0 to 1: share of anomalies flagged
    thresholds: np.ndarray         # (T,) flag when score >= threshold (the first is +inf)
    auc: float                     # auroc(): the trapezoid area under the curve (ties give diagonal steps)


def roc_curve(scores_in: np.ndarray, scores_out: np.ndarray) -> RocCurve:
    """The ROC curve of "flag when score >= t" over every distinct score t, from (0, 0) to (1, 1)."""
    s_in, s_out = _check_sets(scores_in, scores_out)
    thresholds = np.r_[np.inf, np.unique(np.r_[s_in, s_out])[::-1]]
    s_in_sorted, s_out_sorted = np.sort(s_in), np.sort(s_out)
    fpr = 1.0 - np.searchsorted(s_in_sorted, thresholds, side="left") / len(s_in)
    tpr = 1.0 - np.searchsorted(s_out_sorted, thresholds, side="left") / len(s_out)
    # The curve's trapezoid area is auroc(); summing trapezoids rounds differently, and an AUC of
    # exactly k/(n_in n_out) = 0.8375 then read 0.837 on the plot and 0.838 in the table beside it.
    return RocCurve(fpr, tpr, thresholds, auroc(s_in, s_out))


def rates_at(scores_in: np.ndarray, scores_out: np.ndarray, threshold: float) -> tuple[float, float]:
    """(TPR, FPR) of "flag as anomalous when score >= threshold"."""
    s_in, s_out = _check_sets(scores_in, scores_out)
    return float(np.mean(s_out >= threshold)), float(np.mean(s_in >= threshold))


def least_likely(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest scores (most anomalous first; ties keep the original order)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    return order[:n]


@dataclass
class ImageLikelihood:
    """One image as the prior sees it: its code grid, where it is surprising, and its scores."""
    codes: np.ndarray              # int64 (h, w)
    position_nll: np.ndarray       # float64 (h, w), nats; sums to -log p(z)
    decoded: np.ndarray            # float32 (C, H, W): the VQ-VAE's decoding of the codes
    scores: dict[str, float]       # kind -> score (higher = more anomalous); "ratio" only with a background
    class_nll: np.ndarray | None = None     # (C,) -log p(z | c) for a class-conditional prior
    map_label: int = -1                     # the class the map is given (conditional prior), else -1
    label: int = -1                         # the image's own label, -1 when unknown
    head_posterior: np.ndarray | None = None  # (C,) p(c | z) of a prior with class heads (its mixture weights)

    @property
    def nll(self) -> float:
        return float(self.position_nll.sum())

    @property
    def bits(self) -> float:
        return float(nats_to_bits(self.nll))


@torch.no_grad()
def image_likelihood(vqvae, prior, image: torch.Tensor | np.ndarray, background_prior=None,
                     compressor: str = "adaptive-codes", shifts: int = 0, label: int = -1,
                     log_class_prior: np.ndarray | None = None) -> ImageLikelihood:
    """Score one image (C, H, W) (uint8, or float in [0, 1]) and decode its code grid.

    ``label`` (>= 0) is used by a class-conditional prior: the map is given that class."""
    x = as_float_images(torch.as_tensor(np.asarray(image))[None])            # (1, C, H, W)
    scored = score_images(vqvae, prior, x, background_prior, compressor, shifts=shifts,
                          labels=np.array([label]), log_class_prior=log_class_prior)
    lik = scored.likelihoods
    codes = torch.from_numpy(lik.codes)
    decoded = vqvae.decode(codes.to(vqvae.device)).clamp(0, 1)[0].cpu().numpy().astype(np.float32)
    heads = None
    if isinstance(prior, ClassHeadsTransformerPrior):                       # w_c after every code: p(c | z)
        heads = prior.class_belief(codes.to(next(prior.parameters()).device), codes[0].numel())[0].cpu().numpy()
    return ImageLikelihood(lik.codes[0], lik.position_nll[0], decoded,
                           {k: float(v[0]) for k, v in scored.scores.items()},
                           None if lik.class_nll is None else lik.class_nll[0],
                           -1 if lik.map_labels is None else int(lik.map_labels[0]),
                           int(label) if lik.class_nll is not None and 0 <= label < lik.class_nll.shape[1] else -1,
                           heads)
