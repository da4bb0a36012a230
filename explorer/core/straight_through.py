"""Straight-through case studies (notes, "Case Study 1 - Quantization" and "Straight-Through Estimator").

* Quantize: forward r' = round(r), a staircase whose true derivative is 0 almost everywhere;
  the straight-through estimator (STE) passes the gradient back as if it were the identity.
* Binary gate: forward step(x) = [x > 0]; backward the derivative of a sigmoid, s(x)(1 - s(x)).
* A tiny 1-D regression y_hat = round(w x + b) trained through the rounding layer, once with
  the STE (round_ste(z) = z + sg[round(z) - z], the notes' z_e + sg[z_q - z_e]) and once with
  the true gradient (zero): without the STE nothing learns.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


def round_ste(z: torch.Tensor) -> torch.Tensor:
    """round(z) going forward, identity going backward: z + sg[round(z) - z]."""
    return z + (torch.round(z) - z).detach()


def gate_ste(x: torch.Tensor, slope: float = 1.0) -> torch.Tensor:
    """step(x) = [x > 0] going forward, d sigmoid(slope x)/dx going backward."""
    soft = torch.sigmoid(slope * x)
    hard = (x > 0).to(x.dtype)
    return soft + (hard - soft).detach()


@dataclass(frozen=True)
class CaseCurves:
    """Forward and backward of one discrete operation over a range of inputs."""

    x: np.ndarray               # (N,) inputs
    forward: np.ndarray         # (N,) the discrete output
    true_gradient: np.ndarray   # (N,) its derivative: 0 wherever it exists
    surrogate: np.ndarray       # (N,) the gradient the straight-through estimator passes back
    surrogate_name: str
    surrogate_forward: np.ndarray   # (N,) the smooth function whose derivative that is (x, or sigmoid)


def quantize_curves(x: np.ndarray) -> CaseCurves:
    """round(x): staircase forward, true gradient 0, STE gradient 1 (identity)."""
    x = np.asarray(x, dtype=np.float64)
    return CaseCurves(x=x, forward=np.round(x), true_gradient=np.zeros_like(x), surrogate=np.ones_like(x),
                      surrogate_name="identity (STE)", surrogate_forward=x.copy())


def gate_curves(x: np.ndarray, slope: float = 1.0) -> CaseCurves:
    """step(x): forward 0/1, true gradient 0, surrogate slope * s(1 - s) with s = sigmoid(slope x)."""
    x = np.asarray(x, dtype=np.float64)
    s = 1.0 / (1.0 + np.exp(-np.clip(slope * x, -60, 60)))
    return CaseCurves(x=x, forward=(x > 0).astype(np.float64), true_gradient=np.zeros_like(x),
                      surrogate=slope * s * (1 - s), surrogate_name="sigmoid derivative", surrogate_forward=s)


def autograd_gradients(x: float, slope: float = 1.0) -> dict[str, float]:
    """The gradients autograd really passes back at ``x`` through each operation."""
    out = {}
    for name, fn in (("round", torch.round), ("round STE", round_ste),
                     ("step", lambda t: (t > 0).to(t.dtype) + 0 * t), ("step STE", lambda t: gate_ste(t, slope))):
        t = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
        fn(t).backward()
        out[name] = float(t.grad) if t.grad is not None else 0.0
    return out


# ---------------------------------------------------------------------------- 1-D regression
@dataclass
class RegressionConfig:
    samples: int = 64               # training points x in [-2, 2]
    true_w: float = 2.0             # targets t = round(true_w x + true_b)
    true_b: float = 0.5
    init_w: float = 0.3             # starting parameters of y_hat = round(w x + b)
    init_b: float = -1.0
    lr: float = 0.05                # plain gradient descent step
    steps: int = 200                # training steps


@dataclass(frozen=True)
class RegressionSnapshot:
    """Both fits after ``step`` steps: with the STE and with the true (zero) gradient."""

    step: int
    x: np.ndarray                   # (N,) training inputs, sorted
    target: np.ndarray              # (N,) t
    prediction_ste: np.ndarray      # (N,) round(w x + b) with the STE-trained w, b
    prediction_plain: np.ndarray    # (N,) same with the plainly trained w, b
    loss_ste: float                 # mean squared error
    loss_plain: float
    params_ste: tuple[float, float]     # (w, b)
    params_plain: tuple[float, float]
    grad_norm_plain: float          # |dL/d(w, b)| without the STE: always 0


def train_regression(config: RegressionConfig | None = None) -> Iterator[RegressionSnapshot]:
    """Yield a snapshot before training and after every step (a generator for a live plot)."""
    cfg = config or RegressionConfig()
    x = torch.linspace(-2.0, 2.0, cfg.samples, dtype=torch.float64)
    target = torch.round(cfg.true_w * x + cfg.true_b)
    params = {name: torch.tensor([cfg.init_w, cfg.init_b], dtype=torch.float64, requires_grad=True)
              for name in ("ste", "plain")}
    layers = {"ste": round_ste, "plain": torch.round}

    def loss_of(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        w, b = params[name]
        pred = layers[name](w * x + b)
        return ((pred - target) ** 2).mean(), pred

    for step in range(cfg.steps + 1):
        results, grad_plain = {}, 0.0
        for name, p in params.items():
            loss, pred = loss_of(name)
            p.grad = None
            loss.backward()
            grad = p.grad if p.grad is not None else torch.zeros_like(p)
            if name == "plain":
                grad_plain = float(grad.norm())
            results[name] = (float(loss.detach()), pred.detach().numpy().copy(), tuple(float(v) for v in p.detach()))
            if step < cfg.steps:
                with torch.no_grad():
                    p -= cfg.lr * grad
        yield RegressionSnapshot(step=step, x=x.numpy().copy(), target=target.numpy().copy(),
                                 prediction_ste=results["ste"][1], prediction_plain=results["plain"][1],
                                 loss_ste=results["ste"][0], loss_plain=results["plain"][0],
                                 params_ste=results["ste"][2], params_plain=results["plain"][2],
                                 grad_norm_plain=grad_plain)
