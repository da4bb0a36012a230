"""VQ-VAE: encoder -> discrete bottleneck -> decoder (notes, "Vector Quantised-VAE").

    L = ||x - D(z_q_st)||^2 + ||sg[z_e] - z_q||^2 + beta ||z_e - sg[z_q]||^2
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import MAX_PARAMETERS, JsonConfig, Limit, conv_size
from .quantizers import GumbelQuantizer, QuantizerOutput, VectorQuantizer, gumbel_temperature
from .quantizers_extra import QUANTIZER_KINDS, build_quantizer, encoder_channels, quantizer_state_size


@dataclass
class VQVAEConfig(JsonConfig):
    in_channels: int = 1           # 1 (grey) or 3 (RGB) image channels
    image_size: int = 28           # input height = width in pixels
    downsample: int = 4            # spatial factor image -> code grid (1, 2, 4 or 8): 28 -> 7
    hidden_channels: int = 64      # width of the conv trunk at the code-grid resolution
    res_blocks: int = 2            # residual blocks in the decoder (and the encoder, unless set below)
    encoder_res_blocks: int = 0    # residual blocks in the encoder (-1 = as res_blocks; 0 = local codes)
    encoder_kernel: int = 1        # kernel of the encoder's last conv (1: each code sees ~its own patch)
    res_channels: int = 32         # bottleneck width inside each residual block
    num_codes: int = 16            # K, codebook size (the shipped models use 16)
    code_dim: int = 16             # D, dimension of each code vector
    quantizer: str = "vq"          # vq, gumbel, rotation, cosine, factorised or fsq (see quantizers_extra)
    beta: float = 0.25             # commitment weight
    ema: bool = True               # EMA codebook updates instead of the codebook loss term
    ema_decay: float = 0.99        # EMA decay
    kmeans_init: bool = True       # initialise the codebook by k-means on the first batch
    dead_code_steps: int = 10      # re-seed codes unused for this many steps (0 = never)
    gumbel_hard: bool = False      # straight-through one-hot for the Gumbel bottleneck
    gumbel_kl_weight: float = 5e-4 # weight of KL(q || uniform) for the Gumbel bottleneck
    tau_start: float = 1.0         # Gumbel temperature at step 0
    tau_min: float = 0.1           # Gumbel temperature floor
    tau_rate: float = 2e-4         # Gumbel temperature decay per step: tau = start*exp(-rate*step)
    lookup_dim: int = 8            # dimensions of the code lookup of the "factorised" quantizer

    LIMITS: ClassVar[dict[str, Limit]] = {
        "in_channels": Limit(int, 1, 4), "image_size": Limit(int, 1, 1024),
        "downsample": Limit(int, choices=(1, 2, 4, 8)), "hidden_channels": Limit(int, 2, 1024),
        "res_blocks": Limit(int, 0, 64), "encoder_res_blocks": Limit(int, -1, 64),
        "encoder_kernel": Limit(int, choices=(1, 3)), "res_channels": Limit(int, 1, 1024),
        "num_codes": Limit(int, 2, 8192), "code_dim": Limit(int, 1, 1024),
        "quantizer": Limit(str, choices=QUANTIZER_KINDS), "beta": Limit(float, 0, 1000),
        "ema": Limit(bool), "ema_decay": Limit(float, 0, 1, high_open=True), "kmeans_init": Limit(bool),
        "dead_code_steps": Limit(int, 0, 10 ** 9), "gumbel_hard": Limit(bool),
        "gumbel_kl_weight": Limit(float, 0, 1000), "tau_start": Limit(float, 0, 1000, low_open=True),
        "tau_min": Limit(float, 0, 1000, low_open=True), "tau_rate": Limit(float, 0, 1000),
        "lookup_dim": Limit(int, 1, 1024),
    }

    def __post_init__(self) -> None:
        self.check_fields()
        if self.image_size % self.downsample:
            raise ValueError(f"image_size ({self.image_size}) must be a multiple of downsample ({self.downsample})")
        if self.state_size() > MAX_PARAMETERS:
            raise ValueError(f"this VQ-VAE would hold {self.state_size():,} weights, more than the "
                             f"{MAX_PARAMETERS:,} allowed: lower hidden_channels, res_blocks, num_codes or code_dim")

    def state_size(self) -> int:
        """Elements of the model's state dict (weights and buffers), computed without building it."""
        hid, res, k, d, c = self.hidden_channels, self.res_channels, self.num_codes, self.code_dim, self.in_channels
        n_scale = int(math.log2(self.downsample))
        block = conv_size(hid, res, 3) + conv_size(res, hid, 1)
        n_enc_res = self.res_blocks if self.encoder_res_blocks < 0 else self.encoder_res_blocks
        size, ch = 0, c
        for i in range(n_scale):                                   # encoder: stride-2 convs
            nxt = hid // 2 if i < n_scale - 1 else hid
            size += conv_size(ch, nxt, 4)
            ch = nxt
        size += conv_size(ch, hid, self.encoder_kernel) + n_enc_res * block
        size += conv_size(hid, encoder_channels(self.quantizer, k, d), 1)
        size += quantizer_state_size(self.quantizer, k, d, self.lookup_dim)   # codebook (+ EMA state)
        size += conv_size(d, hid, 3) + self.res_blocks * block      # decoder
        ch = hid
        for i in range(n_scale):
            nxt = c if i == n_scale - 1 else hid // 2
            size += conv_size(ch, nxt, 4)
            ch = nxt
        if n_scale == 0:
            size += conv_size(hid, c, 3)
        return size

    @property
    def grid_size(self) -> int:
        """Side of the code grid: image_size / downsample (28 -> 7, 32 -> 8)."""
        return self.image_size // self.downsample



class ResidualBlock(nn.Module):
    """x + conv1x1(relu(conv3x3(relu(x))))."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.conv3 = nn.Conv2d(channels, hidden, 3, padding=1)
        self.conv1 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(F.relu(self.conv3(F.relu(x))))


class Encoder(nn.Module):
    """Image (B, C, H, W) -> features (B, out, H/f, W/f) with log2(f) stride-2 convs."""

    def __init__(self, cfg: VQVAEConfig, out_channels: int) -> None:
        super().__init__()
        n_down = int(math.log2(cfg.downsample))
        hid = cfg.hidden_channels
        layers: list[nn.Module] = []
        ch = cfg.in_channels
        for i in range(n_down):
            nxt = hid // 2 if i < n_down - 1 else hid
            layers += [nn.Conv2d(ch, nxt, 4, stride=2, padding=1), nn.ReLU()]
            ch = nxt
        # A smaller encoder receptive field makes codes depend on their own patch only, which
        # lowers the entropy of the code grid (an easier prior) at a small cost in detail.
        layers += [nn.Conv2d(ch, hid, cfg.encoder_kernel, padding=cfg.encoder_kernel // 2)]
        n_res = cfg.res_blocks if cfg.encoder_res_blocks < 0 else cfg.encoder_res_blocks
        layers += [ResidualBlock(hid, cfg.res_channels) for _ in range(n_res)]
        layers += [nn.ReLU(), nn.Conv2d(hid, out_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """Code vectors (B, D, h, w) -> image logits (B, C, h*f, w*f)."""

    def __init__(self, cfg: VQVAEConfig) -> None:
        super().__init__()
        n_up = int(math.log2(cfg.downsample))
        hid = cfg.hidden_channels
        layers: list[nn.Module] = [nn.Conv2d(cfg.code_dim, hid, 3, padding=1)]
        layers += [ResidualBlock(hid, cfg.res_channels) for _ in range(cfg.res_blocks)]
        layers += [nn.ReLU()]
        ch = hid
        for i in range(n_up):
            last = i == n_up - 1
            nxt = cfg.in_channels if last else hid // 2
            layers += [nn.ConvTranspose2d(ch, nxt, 4, stride=2, padding=1)]
            if not last:
                layers += [nn.ReLU()]
            ch = nxt
        if n_up == 0:
            layers += [nn.Conv2d(ch, cfg.in_channels, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


@dataclass
class VQVAEOutput:
    """Everything a training step or a plot needs from one forward pass."""
    reconstruction: torch.Tensor     # (B, C, H, W) clamped to [0, 1]
    recon_loss: torch.Tensor         # scalar mean squared error of the unclamped output to the input
    quant: QuantizerOutput           # the bottleneck's result (codes, loss terms, statistics)

    @property
    def loss(self) -> torch.Tensor:
        """Total objective: reconstruction + codebook + commitment (+ KL for Gumbel)."""
        return self.recon_loss + self.quant.loss


class VQVAE(nn.Module):
    """Convolutional VQ-VAE with a nearest-neighbour or Gumbel-Softmax bottleneck."""

    def __init__(self, config: VQVAEConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or VQVAEConfig()
        # Gumbel: K logits per position; every other kind: a D-dimensional z_e (quantizers_extra).
        self.encoder = Encoder(cfg, encoder_channels(cfg.quantizer, cfg.num_codes, cfg.code_dim))
        self.quantizer: nn.Module = build_quantizer(cfg)
        self.decoder = Decoder(cfg)

    @property
    def codebook(self) -> torch.Tensor:
        """The (K, D) codebook e: what the decoder receives for each code."""
        decoder_codebook = getattr(self.quantizer, "decoder_codebook", None)
        return decoder_codebook() if decoder_codebook is not None else self.quantizer.codebook

    @property
    def device(self) -> torch.device:
        return next(self.decoder.parameters()).device

    def set_step(self, step: int) -> None:
        """Advance schedules that depend on the training step (Gumbel temperature)."""
        if isinstance(self.quantizer, GumbelQuantizer):
            c = self.config
            self.quantizer.tau = gumbel_temperature(step, c.tau_start, c.tau_min, c.tau_rate)

    def encode_latents(self, x: torch.Tensor) -> torch.Tensor:
        """z_e(x): (B, C, H, W) -> (B, D, h, w) (or K logits per position for Gumbel)."""
        return self.encoder(x)

    def quantize(self, x: torch.Tensor, return_distances: bool = False) -> QuantizerOutput:
        return self.quantizer(self.encoder(x), return_distances=return_distances)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (B, C, H, W) in [0, 1] -> long code grid (B, h, w)."""
        was = self.training
        self.eval()
        try:
            return self.quantizer(self.encoder(x.to(self.device))).indices
        finally:
            self.train(was)

    def decode_latents(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder on continuous latents z (B, D, h, w) -> image (B, C, H, W) in [0, 1].

        The decoder's output layer is linear (a sigmoid there saturates early in training
        and stalls it); the image is clamped to [0, 1].
        """
        return self.decoder(z).clamp(0.0, 1.0)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Long code grid (B, h, w) -> image (B, C, H, W) in [0, 1]."""
        if codes.dtype != torch.long:
            codes = codes.long()
        return self.decode_latents(self.quantizer.lookup(codes.to(self.device)))

    def forward(self, x: torch.Tensor, return_distances: bool = False) -> VQVAEOutput:
        """Reconstruction and each loss term separately (the UI plots each one)."""
        quant = self.quantizer(self.encoder(x), return_distances=return_distances)
        x_raw = self.decoder(quant.quantized)                 # (B, C, H, W), unbounded
        # The loss uses the unclamped output so every pixel keeps a gradient.
        return VQVAEOutput(reconstruction=x_raw.clamp(0.0, 1.0), recon_loss=F.mse_loss(x_raw, x), quant=quant)
