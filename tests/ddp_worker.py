"""One rank of the data-parallel test (run by torchrun from tests/test_ddp.py; not a test itself).

Trains a tiny VQ-VAE (EMA, k-means init, dead-code restarts all on) and then a tiny prior
through the core's ``train_vqvae`` / ``train_prior`` under a gloo process group set up by
``explorer.core.distributed.init_from_env``; writes this rank's final weights and buffers
(safetensors) and its per-step losses (JSON) into OUT_DIR.

usage: torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py OUT_DIR MNIST_ROOT
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

import explorer.core.models.quantizers as quantizers
from explorer.core import distributed
from explorer.core.data import DataConfig, load_data
from explorer.core.models.prior import PriorConfig
from explorer.core.training import PriorTrainConfig, VQVAETrainConfig, train_prior, train_vqvae
from explorer.core.models.vqvae import VQVAEConfig


def main(out_dir: Path, mnist_root: str) -> None:
    torch.set_num_threads(1)
    device, rank, world = distributed.init_from_env("cpu")
    broadcasts: list[list[int]] = []
    real_broadcast = quantizers._broadcast

    def counting_broadcast(t: torch.Tensor) -> torch.Tensor:   # k-means init and dead-code restarts
        broadcasts.append(list(t.shape))
        return real_broadcast(t)

    quantizers._broadcast = counting_broadcast
    try:
        data = load_data(DataConfig(name="mnist", root=mnist_root, limit=600, holdout_last=100))
        vq = VQVAEConfig(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=64, code_dim=4,
                         ema=True, kmeans_init=True, dead_code_steps=2)
        vq_steps = list(train_vqvae(VQVAETrainConfig(model=vq, max_steps=6, batch_size=16, lr=3e-3,
                                                     warmup_steps=2, val_every=3, seed=0), data, device))
        vqvae = vq_steps[-1].model
        save_file({k: v.contiguous() for k, v in vqvae.state_dict().items()},
                  str(out_dir / f"vqvae_rank{rank}.safetensors"))
        prior_cfg = PriorConfig(channels=16, layers=2, head_channels=16, dropout=0.1, num_classes=10)
        prior_steps = list(train_prior(PriorTrainConfig(model=prior_cfg, max_steps=5, batch_size=16, lr=3e-3,
                                                        warmup_steps=2, val_every=5, augment_shifts=0, seed=0),
                                       vqvae, data, device))
        prior = prior_steps[-1].model
        save_file({k: v.contiguous() for k, v in prior.state_dict().items()},
                  str(out_dir / f"prior_rank{rank}.safetensors"))
        report = {
            "rank": rank, "world": world, "device": str(device),
            "vqvae_wrapped": type(vqvae).__name__, "broadcasts": broadcasts,
            "vq_recon": [s.recon_loss for s in vq_steps],
            "vq_counts": [s.code_counts.tolist() for s in vq_steps],
            "vq_val_mse": [s.val_mse for s in vq_steps if s.val_mse is not None],
            "prior_loss": [s.loss for s in prior_steps],
            "prior_val_nll": prior_steps[-1].val_nll,
        }
        (out_dir / f"rank{rank}.json").write_text(json.dumps(report))
    finally:
        quantizers._broadcast = real_broadcast
        distributed.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
