"""The Gumbel-Softmax playground's computations (notes, "Gumbel Softmax").

Everything the playground shows, Qt-free and seeded:

* the three ways to sample from a categorical (notes, "From argmax to Gumbel-Softmax"):
  one-hot(argmax pi), softmax(pi / lambda), and a Gumbel-Softmax sample
  y_k = exp((log pi_k + g_k)/lambda) / sum_j exp((log pi_j + g_j)/lambda), g_k = -log(-log U);
* the straight-through ("hard") sample: forward one-hot, backward the soft sample's gradient;
* the Gumbel-max trick, argmax_k(log pi_k + g_k) ~ Categorical(pi), checked with a chi-square test;
* curves over lambda: E[max_k y_k], E[H(y)] and ||E[y] - pi||;
* three estimators of d E[f(one-hot)] / d logits (soft relaxation, straight-through Gumbel,
  score function) with their bias and variance against the exact gradient by enumeration;
* the annealing schedule lambda_t = max(lambda_min, lambda_0 exp(-r t)).

``logits`` play the role of log pi throughout: any additive constant cancels in every softmax.
All arrays are float64 numpy; the softmax is computed as exp(x - max), so nothing overflows
down to lambda = 0.01 (or far below).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .models.gumbel import sample_gumbel
from .models.vqvae import VQVAEConfig

NOTES_LOGITS = (2.0, 0.5, 1.0)   # the notes' example
NOTES_TEMPERATURES = (1.0, 0.5, 0.1)
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 10.0
MIN_K, MAX_K = 2, 10


# ---------------------------------------------------------------------------- basic pieces
def softmax(x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(x / temperature) over the last axis, computed stably as exp(z - max z)."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    z = np.asarray(x, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def one_hot_argmax(x: np.ndarray) -> np.ndarray:
    """one-hot(argmax_k x_k) over the last axis (notes' "hard categorical choice")."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    np.put_along_axis(out, x.argmax(axis=-1)[..., None], 1.0, axis=-1)
    return out


def gumbel_noise(shape: int | tuple[int, ...], seed: int) -> np.ndarray:
    """Seeded Gumbel(0, 1) noise g = -log(-log U) (via :func:`sample_gumbel`), float64."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    gen = torch.Generator().manual_seed(int(seed))
    return sample_gumbel(shape, generator=gen, dtype=torch.float64).numpy()


def entropy(p: np.ndarray) -> np.ndarray:
    """H(p) = -sum_k p_k log p_k over the last axis, in nats (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)


@dataclass(frozen=True)
class PlaygroundView:
    """What the four bar charts show for one (logits, noise, lambda)."""

    argmax: np.ndarray          # (K,) one-hot(argmax logits)
    softmax: np.ndarray         # (K,) softmax(logits / lambda): probabilities, not a sample
    soft_sample: np.ndarray     # (K,) y = softmax((logits + g) / lambda)
    hard_sample: np.ndarray     # (K,) one-hot(argmax y): the straight-through forward value
    noise: np.ndarray           # (K,) the Gumbel noise g that made y
    probabilities: np.ndarray   # (K,) pi = softmax(logits)


def playground_view(logits: np.ndarray, noise: np.ndarray, temperature: float) -> PlaygroundView:
    """The argmax, softmax(pi/lambda), the Gumbel-Softmax sample and its hard version."""
    logits = np.asarray(logits, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    y = softmax(logits + noise, temperature)
    return PlaygroundView(argmax=one_hot_argmax(logits), softmax=softmax(logits, temperature),
                          soft_sample=y, hard_sample=one_hot_argmax(logits + noise), noise=noise,
                          probabilities=softmax(logits))


# ---------------------------------------------------------------------------- straight-through
def softmax_jacobian_vjp(y: np.ndarray, upstream: np.ndarray, temperature: float) -> np.ndarray:
    """d(upstream . y)/d logits for y = softmax((logits + g)/lambda): (y * v - y (y . v)) / lambda.

    Works on (..., K) batches. This is both the soft sample's gradient and the straight-through
    gradient (the hard forward value y_hard - sg[y] + y has the Jacobian of y).
    """
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(upstream, dtype=np.float64)
    return (y * v - y * (y * v).sum(axis=-1, keepdims=True)) / temperature


@dataclass(frozen=True)
class StraightThrough:
    """Forward and backward of one straight-through Gumbel sample (notes, "Straight-Through Estimator")."""

    forward: np.ndarray         # (K,) one-hot: what the next layer sees
    soft: np.ndarray            # (K,) the soft sample whose gradient flows back
    upstream: np.ndarray        # (K,) dL/dy arriving from above
    gradient: np.ndarray        # (K,) dL/d logits passed back (same as through the soft sample)


def straight_through(logits: np.ndarray, noise: np.ndarray, temperature: float,
                     upstream: np.ndarray) -> StraightThrough:
    """y_hard - sg[y_soft] + y_soft: one-hot forward, the soft sample's gradient backward."""
    view = playground_view(logits, noise, temperature)
    grad = softmax_jacobian_vjp(view.soft_sample, upstream, temperature)
    return StraightThrough(forward=view.hard_sample, soft=view.soft_sample,
                           upstream=np.asarray(upstream, dtype=np.float64), gradient=grad)


# ---------------------------------------------------------------------------- Gumbel-max check
@dataclass(frozen=True)
class GumbelMaxCheck:
    """Histogram of argmax_k(log pi_k + g_k) over many draws, tested against pi."""

    counts: np.ndarray          # (K,) how often each k won
    expected: np.ndarray        # (K,) pi = softmax(logits)
    chi2: float                 # sum_k (counts_k - n pi_k)^2 / (n pi_k)
    dof: int                    # K - 1 (categories with pi_k > 0, minus one)
    p_value: float              # P(chi2_dof >= chi2)
    draws: int
    seed: int

    @property
    def frequencies(self) -> np.ndarray:
        return self.counts / max(1, self.draws)


def chi2_sf(x: float, dof: int) -> float:
    """Survival function of the chi-square distribution, exact for integer ``dof`` >= 1.

    Q(dof/2, x/2), the regularised upper incomplete gamma function, has a finite closed form
    for half-integer shape: for even dof, exp(-x/2) sum_{i<dof/2} (x/2)^i / i!; for odd dof,
    erfc(sqrt(x/2)) + exp(-x/2) sum_{i=0}^{(dof-3)/2} (x/2)^(i+1/2) / Gamma(i+3/2).
    (No scipy needed; tests compare it with scipy.stats.chi2.sf.)
    """
    if dof < 1:
        raise ValueError("dof must be >= 1")
    if x <= 0:
        return 1.0
    h = x / 2.0
    if dof % 2 == 0:
        terms = [math.exp(i * math.log(h) - h - math.lgamma(i + 1)) for i in range(dof // 2)]
        return min(1.0, sum(terms))
    terms = [math.exp((i + 0.5) * math.log(h) - h - math.lgamma(i + 1.5)) for i in range((dof - 1) // 2)]
    return min(1.0, math.erfc(math.sqrt(h)) + sum(terms))


def gumbel_max_check(logits: np.ndarray, draws: int = 10_000, seed: int = 0) -> GumbelMaxCheck:
    """Draw ``draws`` samples k = argmax(logits + g) and compare their counts with softmax(logits)."""
    logits = np.asarray(logits, dtype=np.float64)
    k = len(logits)
    g = gumbel_noise((draws, k), seed)                                   # (draws, K)
    winners = (logits[None, :] + g).argmax(axis=1)
    counts = np.bincount(winners, minlength=k).astype(np.int64)
    pi = softmax(logits)
    expected = draws * pi
    live = expected > 1e-12
    chi2 = float((((counts - expected) ** 2)[live] / expected[live]).sum())
    dof = max(1, int(live.sum()) - 1)
    return GumbelMaxCheck(counts=counts, expected=pi, chi2=chi2, dof=dof, p_value=chi2_sf(chi2, dof),
                          draws=draws, seed=seed)


# ---------------------------------------------------------------------------- curves over lambda
def temperature_grid(n: int = 41, low: float = MIN_TEMPERATURE, high: float = MAX_TEMPERATURE) -> np.ndarray:
    """``n`` temperatures evenly spaced on a log axis from ``low`` to ``high``."""
    return np.logspace(math.log10(low), math.log10(high), n)


@dataclass(frozen=True)
class TemperatureCurves:
    """Monte-Carlo statistics of y = softmax((logits + g)/lambda) at each lambda."""

    temperatures: np.ndarray    # (T,)
    expected_max: np.ndarray    # (T,) E[max_k y_k]: 1 = one-hot, 1/K = uniform
    expected_entropy: np.ndarray  # (T,) E[H(y)] in nats: 0 = one-hot, log K = uniform
    mean_distance: np.ndarray   # (T,) ||E[y] - pi||_2: 0 when the soft samples average to pi
    draws: int
    seed: int


def temperature_curves(logits: np.ndarray, temperatures: np.ndarray | None = None, draws: int = 2000,
                       seed: int = 0) -> TemperatureCurves:
    """E[max_k y_k], E[H(y)] and ||E[y] - pi|| over lambda, the same ``draws`` noise draws at every lambda."""
    logits = np.asarray(logits, dtype=np.float64)
    temps = temperature_grid() if temperatures is None else np.asarray(temperatures, dtype=np.float64)
    g = gumbel_noise((draws, len(logits)), seed)                         # (draws, K)
    pi = softmax(logits)
    maxes, entropies, distances = [], [], []
    for t in temps:
        y = softmax(logits[None, :] + g, float(t))                       # (draws, K)
        maxes.append(y.max(axis=1).mean())
        entropies.append(entropy(y).mean())
        distances.append(np.linalg.norm(y.mean(axis=0) - pi))
    return TemperatureCurves(temperatures=temps, expected_max=np.array(maxes),
                             expected_entropy=np.array(entropies), mean_distance=np.array(distances),
                             draws=draws, seed=seed)


# ---------------------------------------------------------------------------- gradient estimators
ESTIMATORS = ("soft relaxation", "straight-through Gumbel", "score function (REINFORCE)")


def squared_error(y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The toy objective f(y) = ||y - target||^2 over the last axis."""
    return ((np.asarray(y, dtype=np.float64) - target) ** 2).sum(axis=-1)


def exact_gradient(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """d/d logits of E_{k~pi}[f(e_k)] = sum_k pi_k f(e_k), by enumerating the K outcomes.

    d pi_k / d logit_j = pi_k (delta_kj - pi_j), so the gradient is pi_j (f(e_j) - E[f]).
    """
    logits = np.asarray(logits, dtype=np.float64)
    pi = softmax(logits)
    f = squared_error(np.eye(len(logits)), np.asarray(target, dtype=np.float64))   # (K,) f(e_k)
    return pi * (f - (pi * f).sum())


def estimator_samples(logits: np.ndarray, target: np.ndarray, temperature: float,
                      noise: np.ndarray) -> dict[str, np.ndarray]:
    """One gradient estimate per noise row (draws, K) for each estimator in :data:`ESTIMATORS`.

    * soft relaxation: d f(y)/d logits with y the soft sample (biased; the bias shrinks as lambda -> 0);
    * straight-through Gumbel: f evaluated at the one-hot sample, gradient through the soft y;
    * score function: f(e_k) d log pi_k / d logits = f(e_k)(e_k - pi), k = argmax(logits + g)
      (unbiased, does not depend on lambda).
    """
    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    y = softmax(logits[None, :] + noise, temperature)                    # (draws, K)
    hard = one_hot_argmax(logits[None, :] + noise)                       # (draws, K)
    soft = softmax_jacobian_vjp(y, 2.0 * (y - target), temperature)
    st = softmax_jacobian_vjp(y, 2.0 * (hard - target), temperature)
    score = squared_error(hard, target)[:, None] * (hard - softmax(logits)[None, :])
    return dict(zip(ESTIMATORS, (soft, st, score)))


@dataclass(frozen=True)
class EstimatorStats:
    """Bias and variance of each estimator of d E[f]/d logits over lambda."""

    temperatures: np.ndarray        # (T,)
    bias: dict[str, np.ndarray]     # name -> (T,) ||mean estimate - exact||_2
    variance: dict[str, np.ndarray]  # name -> (T,) trace of the estimate's covariance (per sample)
    exact: np.ndarray               # (K,) the exact gradient
    draws: int
    seed: int


def estimator_stats(logits: np.ndarray, target: np.ndarray, temperatures: np.ndarray | None = None,
                    draws: int = 4000, seed: int = 0) -> EstimatorStats:
    """Monte-Carlo bias and variance of the three estimators against :func:`exact_gradient`."""
    logits = np.asarray(logits, dtype=np.float64)
    temps = temperature_grid(25) if temperatures is None else np.asarray(temperatures, dtype=np.float64)
    noise = gumbel_noise((draws, len(logits)), seed)
    exact = exact_gradient(logits, target)
    bias = {name: np.zeros(len(temps)) for name in ESTIMATORS}
    variance = {name: np.zeros(len(temps)) for name in ESTIMATORS}
    for i, t in enumerate(temps):
        for name, g in estimator_samples(logits, target, float(t), noise).items():
            bias[name][i] = np.linalg.norm(g.mean(axis=0) - exact)
            variance[name][i] = g.var(axis=0).sum()
    return EstimatorStats(temperatures=temps, bias=bias, variance=variance, exact=exact, draws=draws, seed=seed)


# ---------------------------------------------------------------------------- annealing
@dataclass(frozen=True)
class AnnealSchedule:
    """lambda_t = max(lambda_min, lambda_0 exp(-r t)), as ``models.quantizers.gumbel_temperature``."""

    start: float = 1.0          # lambda_0
    rate: float = 2e-4          # r, per step
    minimum: float = 0.1        # lambda_min

    def values(self, steps: np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.float64)
        return np.maximum(self.minimum, self.start * np.exp(-self.rate * steps))

    def floor_step(self) -> float:
        """The step at which lambda reaches lambda_min (inf when it never decays)."""
        if self.rate <= 0 or self.start <= self.minimum:
            return 0.0 if self.start <= self.minimum else math.inf
        return math.log(self.start / self.minimum) / self.rate


def training_form_schedule() -> AnnealSchedule:
    """The schedule a Gumbel VQ-VAE trains with by default (VQVAEConfig tau_start, tau_rate, tau_min)."""
    cfg = VQVAEConfig()
    return AnnealSchedule(start=cfg.tau_start, rate=cfg.tau_rate, minimum=cfg.tau_min)
