"""Qt-free core: models, quantizers, priors, sampling, training, data and bundles.

Nothing here imports Qt, so a notebook or a headless server can use it directly.
"""
from .device import available_devices, pick_device
from .models.gumbel import gumbel_softmax, sample_gumbel
from .models.masked_conv import MaskedConv2d, causal_mask
from .models.pixelcnn import AutoregressivePrior, GatedPixelCNN, PixelCNN, PriorConfig, PriorEnsemble, build_prior
from .models.quantizers import GumbelQuantizer, QuantizerOutput, VectorQuantizer, gumbel_temperature
from .sampling import RasterSampler, RasterStep
from .models.vqvae import VQVAE, VQVAEConfig, VQVAEOutput

__all__ = [
    "AutoregressivePrior", "GatedPixelCNN", "GumbelQuantizer", "MaskedConv2d", "PixelCNN", "PriorConfig",
    "PriorEnsemble", "QuantizerOutput", "RasterSampler", "RasterStep", "VQVAE", "VQVAEConfig", "VQVAEOutput", "VectorQuantizer",
    "available_devices", "build_prior", "causal_mask", "gumbel_softmax", "gumbel_temperature", "pick_device",
    "sample_gumbel",
]
