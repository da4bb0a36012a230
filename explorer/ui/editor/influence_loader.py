"""Measure a decoder's influence rectangle lazily, off the GUI thread, once per architecture.

``measure_influence`` decodes perturbed grids (hundreds of ms on a busy CPU); it only
depends on the architecture, so results are cached by the model's config. The worker runs
on a deep copy of the model (the display model may be training), and a result for a model
no longer shown is dropped.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import QObject, Signal
from superqt.utils import thread_worker

from explorer.core.projection import Influence, measure_influence

_CACHE: dict[str, Influence] = {}


def architecture_key(vqvae) -> str:
    """What the influence depends on: the model's class and config."""
    return f"{type(vqvae).__name__}:{vqvae.config!r}"


def _measure(model) -> Influence:
    return measure_influence(model)


class InfluenceLoader(QObject):
    """``request(vqvae)`` emits ``ready(Influence)`` later (or at once when cached)."""

    ready = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._key: str | None = None        # the architecture wanted now
        self._running: str | None = None    # the architecture a worker measures
        self._model = None

    def cached(self, vqvae) -> Influence | None:
        return _CACHE.get(architecture_key(vqvae))

    def forget(self) -> None:
        """A new model is shown: any result still coming is stale unless it fits it."""
        self._key = None
        self._model = None

    def request(self, vqvae) -> None:
        """Measure ``vqvae``'s influence unless cached or already being measured."""
        key = architecture_key(vqvae)
        self._key = key
        if key in _CACHE:
            self.ready.emit(_CACHE[key])
            return
        if self._running is not None:
            self._model = vqvae                 # measured when the running worker ends
            return
        self._start(key, vqvae)

    def _start(self, key: str, vqvae) -> None:
        self._running, self._model = key, None
        model = copy.deepcopy(vqvae).cpu().eval()    # the worker never touches the display model
        worker = thread_worker(_measure, start_thread=False, ignore_errors=True)(model)
        # Bound methods of this QObject: Qt drops the connections if the loader is destroyed first.
        worker.returned.connect(self._done)
        worker.finished.connect(self._finished)
        worker.start()

    def _done(self, result: Influence) -> None:
        if self._running is not None:
            _CACHE[self._running] = result
        if self._running == self._key:
            self.ready.emit(result)

    def _finished(self) -> None:
        self._running = None
        pending, self._model = self._model, None
        if pending is not None and self._key is not None and self._key == architecture_key(pending) \
                and self._key not in _CACHE:
            self._start(self._key, pending)
