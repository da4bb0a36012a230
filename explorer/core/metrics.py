"""Evaluation metrics shared by training, the CLI and the panels."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .models.quantizers import code_statistics

# Images or code grids per forward pass in inference (encoding, teacher-forced likelihoods). On a
# CPU a batch's activations should stay in cache: 128 ran the shipped VQ-VAE's encoder 1.3x and the
# transformer prior 1.05x faster than 500 on one thread (larger batches gain nothing on a GPU here).
INFERENCE_BATCH = 128


@torch.no_grad()
def encode_images(vqvae, images: torch.Tensor, batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
    """Code grids (N, h, w) long for uint8 or float images (N, C, H, W), on the CPU."""
    device = vqvae.device
    out = []
    for start in range(0, images.shape[0], batch_size):
        x = images[start:start + batch_size]
        x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
        out.append(vqvae.encode(x.to(device)).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


@torch.no_grad()
def evaluate_vqvae(vqvae, images: torch.Tensor, batch_size: int = 500) -> dict[str, float]:
    """Held-out reconstruction MSE (pixels in [0, 1]), perplexity and fraction of codes used."""
    was = vqvae.training
    vqvae.eval()
    device = vqvae.device
    sq_err, n_pix = 0.0, 0
    counts = torch.zeros(vqvae.config.num_codes, dtype=torch.long)
    try:
        for start in range(0, images.shape[0], batch_size):
            x = images[start:start + batch_size]
            x = (x.float().div(255.0) if x.dtype == torch.uint8 else x.float()).to(device)
            out = vqvae(x)
            sq_err += F.mse_loss(out.reconstruction, x, reduction="sum").item()
            n_pix += x.numel()
            counts += out.quant.counts.cpu()
    finally:
        vqvae.train(was)
    perplexity, usage = code_statistics(counts)
    return {"mse": sq_err / max(n_pix, 1), "perplexity": float(perplexity), "codes_used": float(usage),
            "codes_used_count": int((counts > 0).sum())}


@torch.no_grad()
def evaluate_prior(prior, codes: torch.Tensor, labels: torch.Tensor | None = None,
                   batch_size: int = 500) -> dict[str, float]:
    """Teacher-forced NLL in nats per latent and the accuracy of the most likely code."""
    was = prior.training
    prior.eval()
    device = next(prior.parameters()).device
    nll, correct, n = 0.0, 0, 0
    try:
        for start in range(0, codes.shape[0], batch_size):
            c = codes[start:start + batch_size].to(device)
            lab = labels[start:start + batch_size].to(device) if labels is not None else None
            logits = prior.logits(c, lab)
            nll += F.cross_entropy(logits, c, reduction="sum").item()
            correct += (logits.argmax(1) == c).sum().item()
            n += c.numel()
    finally:
        prior.train(was)
    nats = nll / max(n, 1)
    return {"nll": nats, "bits_per_latent": nats / math.log(2), "accuracy": correct / max(n, 1)}
