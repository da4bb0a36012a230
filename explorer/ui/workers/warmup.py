"""Warm torch up in the background when the app starts.

The first optimisation step in a process imports a large tree of torch modules lazily
(autograd, the optimisers' helpers). PySide6 inspects the source of every module imported
after it, so this takes about two seconds, holding the GIL, and the window would freeze
for a few hundred milliseconds in the middle of the first training run. One tiny training
step at start-up, in a worker thread while the window opens, does those imports then.
"""
from __future__ import annotations

import time

import torch
from superqt.utils import FunctionWorker, create_worker

from explorer.core.models.vqvae import VQVAE, VQVAEConfig


def warm_up_torch() -> float:
    """One CPU training step of a minute VQ-VAE; returns the seconds it took.

    The global random state is left as it was, so seeded runs are unaffected.
    """
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        model = VQVAE(VQVAEConfig(hidden_channels=8, res_channels=4, num_codes=4, code_dim=2, kmeans_init=False))
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        out = model(torch.rand(2, 1, 28, 28))
        out.loss.backward()
        optimiser.step()
    return time.perf_counter() - start


def warm_up_async() -> FunctionWorker:
    """Start :func:`warm_up_torch` in a worker thread (errors are ignored: it is only a warm-up)."""
    return create_worker(warm_up_torch, _start_thread=True, _ignore_errors=True)
