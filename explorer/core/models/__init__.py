"""The models of the notes: VQ-VAE, its quantizers, Gumbel-Softmax, masked convolutions, PixelCNN and transformer priors.

Every module here is an ``nn.Module`` or the maths it is built from; training, sampling loops,
data and files live beside this package in :mod:`explorer.core`.
"""
from .gumbel import gumbel_softmax, sample_gumbel
from .masked_conv import MaskedConv2d, causal_mask
from .ensemble import PriorEnsemble
from .pixelcnn import GatedPixelCNN, PixelCNN
from .prior import AutoregressivePrior, PriorConfig, build_prior
from .transformer_prior import TransformerPrior
from .class_heads import ClassHeadsTransformerPrior
from .quantizers import GumbelQuantizer, QuantizerOutput, VectorQuantizer, gumbel_temperature
from .vqvae import VQVAE, VQVAEConfig, VQVAEOutput

__all__ = [
    "AutoregressivePrior", "ClassHeadsTransformerPrior", "GatedPixelCNN", "GumbelQuantizer", "MaskedConv2d", "PixelCNN", "PriorConfig",
    "PriorEnsemble", "QuantizerOutput", "TransformerPrior", "VQVAE", "VQVAEConfig", "VQVAEOutput", "VectorQuantizer", "build_prior",
    "causal_mask", "gumbel_softmax", "gumbel_temperature", "sample_gumbel",
]
