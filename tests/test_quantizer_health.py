"""Codebook health: k-means initialisation, dead-code restarts, and codebook usage on MNIST.

Naive VQ-VAEs collapse onto a handful of codes (index collapse). The default configuration
(EMA updates, k-means init on the first batch, restarts of unused codes) must use most of
its codebook after a short MNIST run; the same run with all three switched off must not.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.data import DataSplits, ImageSet
from explorer.core.metrics import evaluate_vqvae
from explorer.core.models.quantizers import VectorQuantizer, kmeans, squared_distances
from explorer.core.training import VQVAETrainConfig, train_vqvae
from explorer.core.models.vqvae import VQVAEConfig


def _read_mnist(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The IDX gzip test set: uint8 images (N, 1, 28, 28) and labels (N,)."""
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def _blobs(n_per: int = 128, centres: int = 8, dim: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mu = 10.0 * torch.randn(centres, dim, generator=g)
    pts = (mu[:, None, :] + 0.1 * torch.randn(centres, n_per, dim, generator=g)).reshape(-1, dim)
    return pts, mu


def _as_feature_map(points: torch.Tensor, side: int) -> torch.Tensor:
    """(B*side*side, D) points -> encoder-output shaped (B, D, side, side)."""
    d = points.shape[1]
    return points.view(-1, side, side, d).permute(0, 3, 1, 2).contiguous()


def test_kmeans_is_a_lloyd_fixed_point_that_lowers_the_error() -> None:
    pts, mu = _blobs()
    gen_seed = 3
    centres = kmeans(pts, 8, iters=30, generator=torch.Generator().manual_seed(gen_seed))
    # converged Lloyd: every centre is the mean of the points nearest to it
    assign = squared_distances(pts, centres).argmin(1)
    for k in range(8):
        if (assign == k).any():
            torch.testing.assert_close(centres[k], pts[assign == k].mean(0), rtol=1e-4, atol=1e-4)
    # and the quantisation error is far below that of its random starting points
    start = pts[torch.randperm(pts.shape[0], generator=torch.Generator().manual_seed(gen_seed))[:8]]
    err = squared_distances(pts, centres).min(1).values.mean()
    assert err < squared_distances(pts, start).min(1).values.mean()
    # with more centres than blobs, every blob gets a centre within its spread
    many = kmeans(pts, 24, iters=30, generator=torch.Generator().manual_seed(gen_seed))
    assert (squared_distances(mu, many).min(1).values.sqrt() < 0.5).all()
    # fewer points than centres: starts are drawn with replacement; centres stay among the data
    few = kmeans(pts[:5], 8, generator=torch.Generator().manual_seed(0))
    assert few.shape == (8, 3)
    assert ((few >= pts[:5].min(0).values - 1e-5) & (few <= pts[:5].max(0).values + 1e-5)).all()


def test_kmeans_init_sets_the_codebook_from_the_first_batch() -> None:
    pts, mu = _blobs(n_per=128, centres=8)                  # 1024 points = 16 maps of 8 x 8
    z_e = _as_feature_map(pts[torch.randperm(pts.shape[0], generator=torch.Generator().manual_seed(1))], 8)
    vq = VectorQuantizer(32, 3, ema=False, kmeans_init=True, dead_code_steps=0)
    initial = vq.codebook.detach().clone()
    assert not bool(vq.initialized)
    vq.eval()
    vq(z_e)
    assert torch.equal(vq.codebook.detach(), initial)      # eval mode never initialises
    vq.train()
    q = vq(z_e)
    assert bool(vq.initialized)
    e = vq.codebook.detach()
    # codes now lie on the data (near a blob), spread over every blob, and most are used
    assert (squared_distances(e, mu).min(1).values.sqrt() < 1.0).all()
    assert set(squared_distances(mu, e).argmin(0).tolist()) == set(range(8))   # every blob owns a code
    assert int((q.counts > 0).sum()) >= 24
    err_after = squared_distances(pts, e).min(1).values.mean()
    err_before = squared_distances(pts, initial).min(1).values.mean()
    assert err_after < 1e-2 * err_before
    # only the first batch initialises: a second batch leaves the codebook to training
    vq(z_e + 100.0)
    assert torch.equal(vq.codebook.detach(), e)


def test_dead_codes_are_reseeded_from_encoder_outputs_after_n_unused_steps() -> None:
    steps = 3
    pts, _ = _blobs(n_per=32, centres=2, dim=2)             # 64 points = 1 map of 8 x 8
    z_e = _as_feature_map(pts, 8)
    vq = VectorQuantizer(6, 2, ema=False, kmeans_init=False, dead_code_steps=steps).train()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0]] + [[1e3, 1e3 + k] for k in range(5)]))
    # codes 1..5 are so far away that code 0 wins every position: they are unused
    for step in range(1, steps):
        q = vq(z_e)
        assert q.counts[0] == 64 and q.counts[1:].sum() == 0
        assert vq.steps_unused.tolist() == [0] + [step] * 5
        assert (vq.codebook.detach()[1:, 0] == 1e3).all(), "restarted too early"
    vq(z_e)                                                 # the N-th unused step: restart
    e = vq.codebook.detach()
    assert torch.equal(e[0], torch.zeros(2))                # the used code is untouched
    for k in range(1, 6):
        assert (pts == e[k]).all(1).any(), f"code {k} was not re-seeded from an encoder output"
    assert vq.steps_unused.tolist() == [0] * 6
    # after the restart several codes win positions again
    assert int((vq(z_e).counts > 0).sum()) >= 2


def test_dead_code_restarts_can_be_switched_off() -> None:
    vq = VectorQuantizer(4, 2, ema=False, kmeans_init=False, dead_code_steps=0).train()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [1e3, 0], [2e3, 0], [3e3, 0]]))
    before = vq.codebook.detach().clone()
    for _ in range(20):
        vq(torch.randn(1, 2, 4, 4))
    assert torch.equal(vq.codebook.detach(), before)


@pytest.fixture(scope="module")
def mnist_splits(mnist_root: Path) -> DataSplits:
    images, labels = _read_mnist(mnist_root)
    assert images.shape == (10000, 1, 28, 28)
    # convention: first 9 000 = train, last 1 000 = held out; a subset of each keeps this fast
    train = ImageSet(images[:2000], labels[:2000])
    val = ImageSet(images[9000:9500], labels[9000:9500])
    return DataSplits(train=train, val=val, name="mnist")


def _train(data: DataSplits, model_cfg: VQVAEConfig, steps: int = 120) -> dict:
    cfg = VQVAETrainConfig(model=model_cfg, max_steps=steps, batch_size=64, warmup_steps=20, val_every=10 ** 9,
                           preview_size=0, seed=0)
    last = None
    for last in train_vqvae(cfg, data, device="cpu"):
        pass
    assert last is not None and last.step == steps
    return evaluate_vqvae(last.model, data.val.images)


def test_default_config_uses_its_codebook_where_a_naive_one_collapses(mnist_splits: DataSplits) -> None:
    k = 32                     # the codebook health defaults, with a K where collapse is plain to see
    healthy = _train(mnist_splits, VQVAEConfig(num_codes=k))
    naive = _train(mnist_splits, VQVAEConfig(num_codes=k, ema=False, kmeans_init=False, dead_code_steps=0))
    # held-out digits: most of the K codes in use vs a minority (the naive run sits on a few codes:
    # with K = 32 local codes it used 13 codes at perplexity 3.5)
    assert healthy["codes_used_count"] >= 0.8 * k, healthy
    assert naive["codes_used_count"] <= 0.5 * k, naive
    assert healthy["perplexity"] > 3 * naive["perplexity"], (healthy, naive)
    # and using the codebook buys a better reconstruction
    assert healthy["mse"] < naive["mse"]
