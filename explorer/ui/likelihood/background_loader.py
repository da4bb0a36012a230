"""The likelihood ratio's background prior: a bundle with the same VQ-VAE, loaded off the GUI thread.

By default the shipped all-digit bundle (``trained_models/mnist``) when its VQ-VAE is identical
to the loaded bundle's (as for ``mnist-1to4``); the user can pick any other bundle folder.
"""
from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from superqt.utils import thread_worker

from explorer.core.anomaly import same_vqvae
from explorer.core.bundle import load_bundle
from explorer.core.paths import default_bundle_path


def _load(path: Path, vqvae):
    bundle = load_bundle(path)
    if bundle.prior is None:
        raise ValueError(f"{path.name} has no prior")
    if not same_vqvae(vqvae, bundle.vqvae):
        raise ValueError(f"{path.name} has a different VQ-VAE: its codes mean different things")
    bundle.prior.eval()
    return bundle.prior, bundle.name or path.name


def default_background(bundle_path: Path | None) -> Path | None:
    """The shipped all-digit bundle, unless it is the loaded bundle itself."""
    candidate = default_bundle_path()
    if candidate is None:
        return None
    if bundle_path is not None and Path(bundle_path).resolve() == candidate.resolve():
        return None
    return candidate


class BackgroundLoader(QObject):
    """Emits ``ready(prior, name)`` or ``unavailable(message)``."""

    ready = Signal(object, str)
    unavailable = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = None
        self._generation = 0
        self._running = -1
        self._pending: tuple[Path, object] | None = None

    def load(self, path: Path | None, vqvae) -> None:
        """Load ``path``'s prior if its VQ-VAE equals ``vqvae``; a newer call supersedes an older one."""
        self._generation += 1
        self._pending = None
        if path is None:
            self.unavailable.emit("no background prior: choose a bundle with the same VQ-VAE")
            return
        self._pending = (Path(path), copy.deepcopy(vqvae))
        self._start()

    def _start(self) -> None:
        if self.worker is not None or self._pending is None:
            return                       # the running load ends first; then the newest request runs
        path, vqvae = self._pending
        self._pending = None
        worker = thread_worker(_load, start_thread=False, ignore_errors=True)(path, vqvae)
        self._running = self._generation
        # Bound methods of this QObject: Qt drops the connections if the loader is destroyed first.
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def _returned(self, result) -> None:
        if self._running == self._generation:
            self.ready.emit(*result)

    def _errored(self, exc: Exception) -> None:
        if self._running == self._generation:
            self.unavailable.emit(f"no background prior ({exc})")

    def _finished(self) -> None:
        self.worker = None
        self._start()
