"""Gumbel-Softmax: differentiable sampling from a categorical distribution.

Notes, "Gumbel Softmax":  y_k = exp((log pi_k + g_k)/lambda) / sum_j exp((log pi_j + g_j)/lambda),
with g_k = -log(-log U), U ~ Uniform(0, 1), and temperature lambda (``tau`` here).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_gumbel(shape: torch.Size | tuple[int, ...], *, generator: torch.Generator | None = None,
                  device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """i.i.d. Gumbel(0, 1) noise g = -log(-log U), U ~ Uniform(0, 1), finite everywhere.

    U is clamped to [tiny, 1 - eps] so neither log ever sees 0 or 1 (no inf).
    """
    gen_device = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, device=gen_device, dtype=dtype)
    if device is not None:
        u = u.to(device)
    finfo = torch.finfo(dtype)
    u = u.clamp(min=finfo.tiny, max=1.0 - finfo.eps)
    return -torch.log(-torch.log(u))


def gumbel_softmax(logits: torch.Tensor, tau: float = 1.0, hard: bool = False, *,
                   generator: torch.Generator | None = None, dim: int = -1,
                   noise: torch.Tensor | None = None) -> torch.Tensor:
    """y = softmax((logits + g) / tau) over ``dim`` (notes' Gumbel-Softmax equation).

    ``logits`` play the role of log pi (any additive constant cancels in the softmax).
    ``hard=True`` returns the one-hot argmax going forward and the soft sample's gradient
    going backward (straight-through): y_hard - sg[y_soft] + y_soft.
    ``noise`` lets callers supply g (the playground reuses one draw while tau moves).
    Numerically safe down to tau = 0.01: the softmax is computed as exp(x - max) in
    float32 or wider, so it never produces inf or NaN.
    """
    if tau <= 0:
        raise ValueError("temperature tau must be > 0")
    g = noise if noise is not None else sample_gumbel(logits.shape, generator=generator,
                                                      device=logits.device, dtype=_float_type(logits))
    y_soft = F.softmax((logits.to(g.dtype) + g) / tau, dim=dim)
    if not hard:
        return y_soft.to(logits.dtype) if logits.is_floating_point() else y_soft
    index = y_soft.argmax(dim=dim, keepdim=True)
    y_hard = torch.zeros_like(y_soft).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def _float_type(t: torch.Tensor) -> torch.dtype:
    # Half precision Gumbel noise underflows; sample in float32 at least.
    if t.dtype in (torch.float64,):
        return torch.float64
    return torch.float32
