"""Gumbel routing: a toy mixture of experts on 2-D points (notes, "Applications: conditional computation").

The data are four Gaussian blobs in an XOR pattern (class = 1 where x1 x2 > 0), so no single
linear expert can classify them, but two linear experts can if a router splits the plane
between them. The router picks one of E linear experts:

    select(x) = argmax_e r_e(x)           (notes: non-differentiable)

* Gumbel routing trains with y = softmax((r(x) + g)/lambda) mixing the experts' logits,
  lambda annealed as lambda_t = max(lambda_min, lambda_0 exp(-rate t)); at inference it routes
  hard, y = one-hot(argmax_e r_e(x)), so each point runs one expert only.
* Plain argmax routing trains with the hard one-hot: the router receives no gradient, keeps
  its initial (near-uniform) choice, and never learns to route.

Both start from the same weights (the router initialised near uniform: small weights and
biases) and train side by side in :func:`train_routing`, a generator of numpy snapshots.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models.gumbel import gumbel_softmax

ROUTERS = ("gumbel", "argmax")


@dataclass
class RoutingConfig:
    experts: int = 4                # E linear experts
    train_points: int = 400         # training points (four blobs)
    test_points: int = 400          # held-out points from the same blobs
    blob_std: float = 0.4           # spread of each blob around (+-1, +-1)
    steps: int = 300                # full-batch Adam steps
    lr: float = 0.05                # Adam learning rate (router and experts)
    tau_start: float = 2.0          # lambda_0 of the router's Gumbel-Softmax
    tau_min: float = 0.2            # lambda_min
    tau_rate: float = 0.01          # decay per step: lambda_t = max(min, start exp(-rate t))
    seed: int = 0                   # data, initial weights and Gumbel noise
    grid: int = 60                  # the plane is coloured on grid x grid points
    extent: float = 2.5             # ... covering [-extent, extent]^2
    snapshot_every: int = 10        # yield a snapshot every this many steps


def xor_blobs(n: int, std: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points from four blobs at (+-1, +-1); label 1 where the centre has x1 x2 > 0."""
    centres = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    which = torch.randint(0, 4, (n,), generator=generator)
    points = centres[which] + std * torch.randn(n, 2, generator=generator)   # (n, 2)
    labels = (which < 2).long()                                               # (n,)
    return points, labels


class MixtureOfExperts(nn.Module):
    """A linear router over E linear experts (2 inputs -> 2 class logits each)."""

    def __init__(self, experts: int, classes: int = 2) -> None:
        super().__init__()
        self.router = nn.Linear(2, experts)
        self.expert_weight = nn.Parameter(torch.randn(experts, classes, 2) * 0.5)   # (E, C, 2)
        self.expert_bias = nn.Parameter(torch.zeros(experts, classes))            # (E, C)
        with torch.no_grad():              # near-uniform router: its argmax starts as (almost) one constant
            self.router.weight.normal_(0.0, 0.01)
            self.router.bias.normal_(0.0, 0.1)

    def expert_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Every expert's class logits, (B, E, C)."""
        return torch.einsum("bi,eci->bec", x, self.expert_weight) + self.expert_bias

    def route_hard(self, x: torch.Tensor) -> torch.Tensor:
        """The expert each point runs at inference, (B,) = argmax_e r_e(x)."""
        return self.router(x).argmax(dim=1)

    def forward(self, x: torch.Tensor, mode: str, tau: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Class logits (B, C); ``mode`` "gumbel" (soft, training), or "hard" (argmax routing)."""
        scores = self.router(x)                                               # (B, E)
        if mode == "gumbel":
            weights = gumbel_softmax(scores, tau, hard=False, generator=generator)
        elif mode == "hard":
            weights = F.one_hot(scores.argmax(dim=1), scores.shape[1]).to(x.dtype)   # no gradient to r
        else:
            raise ValueError(f"unknown routing mode {mode!r}")
        return (weights[:, :, None] * self.expert_logits(x)).sum(dim=1)       # (B, C)


@dataclass(frozen=True)
class RouterSnapshot:
    """One model's state, as numpy copies."""

    loss: float                     # training loss (cross-entropy) at this step
    train_accuracy: float           # hard routing, training points
    test_accuracy: float            # hard routing, held-out points
    expert_map: np.ndarray          # (grid, grid) int: the expert argmax routing picks, row = x2
    class_map: np.ndarray           # (grid, grid) float: P(class 1) with hard routing
    load: np.ndarray                # (E,) share of held-out points each expert runs
    router_grad_norm: float         # |d loss / d router parameters| at this step

    @property
    def experts_used(self) -> int:
        """Experts that run at least 5 % of the held-out points."""
        return int((self.load >= 0.05).sum())


@dataclass(frozen=True)
class RoutingSnapshot:
    step: int
    temperature: float              # lambda_t of the Gumbel router
    routers: dict[str, RouterSnapshot]     # "gumbel", "argmax"
    train_points: np.ndarray        # (N, 2)
    train_labels: np.ndarray        # (N,)
    extent: float
    done: bool


def anneal(step: int, cfg: RoutingConfig) -> float:
    return max(cfg.tau_min, cfg.tau_start * float(np.exp(-cfg.tau_rate * step)))


def _accuracy(model: MixtureOfExperts, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x, "hard").argmax(dim=1) == y).float().mean())


def _snapshot(model: MixtureOfExperts, loss: float, grad_norm: float, data: dict[str, torch.Tensor],
              grid_points: torch.Tensor, cfg: RoutingConfig) -> RouterSnapshot:
    with torch.no_grad():
        test_route = model.route_hard(data["test_x"])
        load = torch.bincount(test_route, minlength=cfg.experts).double() / len(test_route)
        experts = model.route_hard(grid_points).reshape(cfg.grid, cfg.grid)            # (grid, grid)
        p1 = model(grid_points, "hard").softmax(dim=1)[:, 1].reshape(cfg.grid, cfg.grid)
        return RouterSnapshot(loss=loss, train_accuracy=_accuracy(model, data["train_x"], data["train_y"]),
                              test_accuracy=_accuracy(model, data["test_x"], data["test_y"]),
                              expert_map=experts.numpy().copy(), class_map=p1.double().numpy().copy(),
                              load=load.numpy().copy(), router_grad_norm=grad_norm)


def train_routing(config: RoutingConfig | None = None) -> Iterator[RoutingSnapshot]:
    """Train the Gumbel-routed and the argmax-routed mixture side by side; yield snapshots.

    The first snapshot is the untrained models (step 0), the last has ``done=True``.
    """
    cfg = config or RoutingConfig()
    gen = torch.Generator().manual_seed(cfg.seed)
    train_x, train_y = xor_blobs(cfg.train_points, cfg.blob_std, gen)
    test_x, test_y = xor_blobs(cfg.test_points, cfg.blob_std, gen)
    data = dict(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)
    axis = torch.linspace(-cfg.extent, cfg.extent, cfg.grid)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    grid_points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)        # (grid*grid, 2), row-major in x2
    torch.manual_seed(cfg.seed)
    first = MixtureOfExperts(cfg.experts)
    models = {"gumbel": first, "argmax": MixtureOfExperts(cfg.experts)}
    models["argmax"].load_state_dict(first.state_dict())                      # same start
    optims = {name: torch.optim.Adam(m.parameters(), lr=cfg.lr) for name, m in models.items()}
    noise_gen = torch.Generator().manual_seed(cfg.seed + 1)
    last: dict[str, tuple[float, float]] = {}
    for step in range(cfg.steps + 1):
        tau = anneal(step, cfg)
        for name, model in models.items():
            mode = "gumbel" if name == "gumbel" else "hard"
            loss = F.cross_entropy(model(train_x, mode, tau, generator=noise_gen), train_y)
            optims[name].zero_grad()
            loss.backward()
            grads = [p.grad for p in model.router.parameters() if p.grad is not None]
            grad_norm = float(torch.sqrt(sum((g ** 2).sum() for g in grads))) if grads else 0.0
            last[name] = (float(loss.detach()), grad_norm)
            if step < cfg.steps:
                optims[name].step()
        if step % cfg.snapshot_every == 0 or step == cfg.steps:
            yield RoutingSnapshot(
                step=step, temperature=tau,
                routers={name: _snapshot(m, *last[name], data, grid_points, cfg) for name, m in models.items()},
                train_points=train_x.numpy().copy(), train_labels=train_y.numpy().copy(),
                extent=cfg.extent, done=step == cfg.steps)
