"""Work off the GUI thread that several panels share: loading and saving bundles, the torch warm-up.

A panel's own workers live in its folder (the Train panel's runs: ``explorer/ui/train/``).
"""
from .bundle_io import load_bundle_async, save_bundle_async, shutdown_workers

__all__ = ["load_bundle_async", "save_bundle_async", "shutdown_workers"]
