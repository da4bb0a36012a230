"""Discrete Latent Explorer: train, inspect and teach discrete latent models.

The public API (stable; panels, notebooks and acceptance checks use it)::

    import explorer
    bundle = explorer.load_bundle(path)
    codes = bundle.vqvae.encode(x)          # float (B,C,H,W) in [0,1] -> long (B,h,w)
    x_hat = bundle.vqvae.decode(codes)      # -> float (B,C,H,W) in [0,1]
    bundle.vqvae.codebook                   # (K, D)
    bundle.prior.log_prob(codes)            # -> (B,) nats
    bundle.prior.sample(n, temperature=1.0, generator=g)   # -> long (n,h,w)

Importing ``explorer`` never imports Qt; the GUI lives in ``explorer.ui``.
"""
from .core.lazy import lazy_attributes

from .core import _EXPORTS as _CORE_EXPORTS

__version__ = "0.1.0"

# Public name -> the module that defines it; imported on first use (PEP 562), so that
# `python -m explorer --help` answers without loading torch.
_EXPORTS = {
    **{name: f".core{module}" for name, module in _CORE_EXPORTS.items()},
    "Bundle": ".core.bundle", "BundleError": ".core.bundle", "load_bundle": ".core.bundle",
    "DataConfig": ".core.data", "DataError": ".core.data", "load_data": ".core.data",
    **dict.fromkeys(("PriorTrainConfig", "VQVAETrainConfig", "train_prior", "train_vqvae"), ".core.training"),
}
__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
