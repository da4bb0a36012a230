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
from .core import *  # noqa: F401,F403
from .core import __all__ as _core_all
from .core.bundle import Bundle, BundleError, load_bundle
from .core.data import DataConfig, DataError, load_data
from .core.training import PriorTrainConfig, VQVAETrainConfig, train_prior, train_vqvae

__version__ = "0.1.0"
__all__ = list(_core_all) + ["Bundle", "BundleError", "DataConfig", "DataError", "PriorTrainConfig",
                             "VQVAETrainConfig", "load_bundle", "load_data", "train_prior", "train_vqvae"]
