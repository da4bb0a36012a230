"""A tiny, legible VQ-VAE + prior bundle on shared MNIST digits for the editor/codebook tests."""
from __future__ import annotations

import numpy as np
import torch

from explorer.core.bundle import Bundle
from explorer.core.data import ImageSet, read_idx
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.quantizers import kmeans
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

K = 16


def read_mnist(root, n: int) -> ImageSet:
    """The last ``n`` shared MNIST digits (the held-out end), read with the project's IDX reader."""
    images = read_idx(root / "t10k-images-idx3-ubyte.gz")[-n:].reshape(-1, 1, 28, 28)
    labels = read_idx(root / "t10k-labels-idx1-ubyte.gz")[-n:].astype(np.int64)
    return ImageSet(torch.from_numpy(images.copy()), torch.from_numpy(labels.copy()))


def tiny_editor_bundle(mnist_root) -> Bundle:
    """Untrained tiny models, made legible: the encoder's output is scaled up, the codebook
    is k-means of the digits' encoder outputs (digits use several codes) and the decoder
    has a mid-grey bias, so different codes decode to visibly different pixels."""
    torch.manual_seed(0)
    examples = read_mnist(mnist_root, 30)
    vq = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=K, code_dim=4, kmeans_init=False))
    with torch.no_grad():
        last = vq.encoder.net[-1]
        last.weight.mul_(20.0)
        last.bias.mul_(20.0)
        z = vq.encode_latents(examples.float_images()).permute(0, 2, 3, 1).reshape(-1, 4)
        vq.quantizer.codebook.copy_(kmeans(z, K, generator=torch.Generator().manual_seed(0)))
        vq.decoder.net[-1].bias.fill_(0.5)
    prior = build_prior(PriorConfig(num_codes=K, channels=16, layers=2, head_channels=16))
    return Bundle(vq.eval(), prior.eval(), "tiny", examples=examples)
