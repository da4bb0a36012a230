"""Qt-free core: models, quantizers, priors, sampling, training, data and bundles.

Nothing here imports Qt, so a notebook or a headless server can use it directly.
"""
from importlib import import_module

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


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
