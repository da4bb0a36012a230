"""Qt-free core: models, quantizers, priors, sampling, training, data and bundles.

Nothing here imports Qt, so a notebook or a headless server can use it directly.
"""
from .lazy import lazy_attributes

# Public name -> the module that defines it. Imported on first use (PEP 562), so that
# `python -m explorer --help` and `from explorer.core.device import ...` do not load torch.
_EXPORTS = {
    "available_devices": ".device", "pick_device": ".device",
    "gumbel_softmax": ".models.gumbel", "sample_gumbel": ".models.gumbel",
    "MaskedConv2d": ".models.masked_conv", "causal_mask": ".models.masked_conv",
    **dict.fromkeys(("AutoregressivePrior", "GatedPixelCNN", "PixelCNN", "PriorConfig", "PriorEnsemble",
                     "build_prior"), ".models.pixelcnn"),
    **dict.fromkeys(("GumbelQuantizer", "QuantizerOutput", "VectorQuantizer", "gumbel_temperature"),
                    ".models.quantizers"),
    "RasterSampler": ".sampling", "RasterStep": ".sampling",
    "VQVAE": ".models.vqvae", "VQVAEConfig": ".models.vqvae", "VQVAEOutput": ".models.vqvae",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
