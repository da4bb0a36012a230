"""Scores image sets off the GUI thread: every score kind at once, for the histogram, ROC and gallery.

``request(key, source)`` queues a set: ``source`` is an ImageSubset already in memory, or a
("dataset", name, root) / ("folder", path) / ("far", kind, reference images, root) tuple to load
or make first (in the worker too). A class-conditional prior gets each set's labels. Results
arrive as ``scored(key, ScoredSet)``; a result computed for older models (the bundle or the
background changed meanwhile) is dropped.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import thread_worker

from explorer.core.anomaly import score_images
from explorer.core.anomaly_sets import ImageSubset, folder_subset, registry_subset
from explorer.core.far_sets import FASHION, fashion_subset, far_subset

MAX_SET_IMAGES = 2000          # each set is capped: scoring stays a few seconds on a CPU
FAR_SET_IMAGES = 200           # each far set (noise, letters, ...): enough for an AUROC to two decimals


@dataclass
class ScoredSet:
    """A set and all its scores (numpy copies, safe across threads)."""
    subset: ImageSubset
    scores: dict[str, np.ndarray]  # kind -> (N,), higher = more anomalous
    codes: np.ndarray              # int64 (N, h, w)


def load_and_score(vqvae, prior, background, source, shifts: int = 0, compressor: str = "adaptive-codes") -> ScoredSet:
    """Runs in the worker: load the set if needed, then score it with copies of the models."""
    cfg = vqvae.config
    if isinstance(source, ImageSubset):
        subset = source
    elif source[0] == "dataset":
        subset = registry_subset(source[1], source[2], cfg.image_size, cfg.in_channels, MAX_SET_IMAGES)
    elif source[0] == "far" and source[1] == FASHION:
        subset = fashion_subset(source[3], cfg.image_size, cfg.in_channels, FAR_SET_IMAGES)
        if subset is None:
            raise ValueError("Fashion-MNIST's files are not in the data folder")
    elif source[0] == "far":
        subset = far_subset(source[1], source[2], FAR_SET_IMAGES)
    else:
        subset = folder_subset(source[1], cfg.image_size, cfg.in_channels, MAX_SET_IMAGES)
    if len(subset.images) == 0:                      # nothing to score: the view says so
        empty = {kind: np.zeros(0) for kind in ("nll", "complexity") + (("ratio",) if background is not None else ())}
        return ScoredSet(subset, empty, np.zeros((0,) + tuple(prior_grid(prior)), dtype=np.int64))
    # held-out images of the bundle's own dataset carry its labels; another dataset's or a folder's do not
    labels = subset.labels if isinstance(source, ImageSubset) else None
    scored = score_images(vqvae, prior, subset.images, background, compressor, shifts=shifts, labels=labels)
    return ScoredSet(subset, {k: np.array(v) for k, v in scored.scores.items()}, scored.likelihoods.codes.copy())


def prior_grid(prior) -> tuple[int, int]:
    return prior.config.height, prior.config.width


class SetScorer(QObject):
    """One worker at a time; requests made meanwhile wait in a queue."""

    scored = Signal(str, object)       # key, ScoredSet
    failed = Signal(str, str)          # key, plain message
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = None
        self.generation = 0
        self._queue: list[tuple[str, object]] = []
        self._running: tuple[str, int] = ("", -1)
        self._models = (None, None, None)
        self.shifts = 0
        self.paused = False            # while the panel is hidden queued sets wait (the running one finishes)

    def set_models(self, vqvae, prior, background, shifts: int = 0) -> None:
        """New models (or shift averaging): forget queued work; results of the running job will be dropped."""
        self.generation += 1
        self._queue.clear()
        self._models = (vqvae, prior, background)
        self.shifts = shifts

    def request(self, key: str, source) -> None:
        if any(k == key for k, _ in self._queue) or (self.worker is not None and self._running[0] == key
                                                      and self._running[1] == self.generation):
            return
        self._queue.append((key, source))
        self._next()

    @property
    def busy(self) -> bool:
        return self.worker is not None or (bool(self._queue) and not self.paused)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._next()

    def _next(self) -> None:
        if self.paused or self.worker is not None or not self._queue or self._models[1] is None:
            return
        key, source = self._queue.pop(0)
        vqvae, prior, background = self._models
        copies = (copy.deepcopy(vqvae).cpu().eval(), copy.deepcopy(prior).cpu().eval(),
                  None if background is None else copy.deepcopy(background).cpu().eval())
        worker = thread_worker(load_and_score, start_thread=False, ignore_errors=True)(*copies, source, self.shifts)
        self._running = (key, self.generation)
        # Bound methods of this QObject: Qt drops the connections if the scorer is destroyed first.
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        worker.finished.connect(self._finished)
        self.worker = worker
        self.busy_changed.emit(True)
        worker.start()

    def _returned(self, result: ScoredSet) -> None:
        key, gen = self._running
        if gen == self.generation:
            self.scored.emit(key, result)

    def _errored(self, exc: Exception) -> None:
        key, gen = self._running
        if gen == self.generation:
            self.failed.emit(key, str(exc) or type(exc).__name__)

    def _finished(self) -> None:
        self.worker = None
        self._next()
        if self.worker is None:
            self.busy_changed.emit(False)
