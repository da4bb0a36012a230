"""Loads a bundle's train/validation splits once, off the GUI thread, for both panels."""
from __future__ import annotations

import json

from PySide6.QtCore import QObject, Signal
from superqt.utils import thread_worker

from explorer.core.data import DataSplits
from explorer.core.latent_edit import load_bundle_splits


class SplitLoader(QObject):
    """Emits ``loaded(DataSplits)`` or ``failed(message)``; one load per data config.

    ``request(data_config)`` returns at once: the files are read in a worker thread. A
    result for an older request (the bundle changed meanwhile) is dropped.
    """

    loaded = Signal(object)
    failed = Signal(str)

    _cache: dict[str, DataSplits] = {}      # shared by all loaders: data configs -> splits

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._key: str | None = None
        self._wanted: dict = {}
        self._loading_key = ""
        self.worker = None

    def request(self, data_config: dict) -> None:
        key = json.dumps(data_config, sort_keys=True, default=str)
        self._key, self._wanted = key, dict(data_config)
        if not data_config:
            self.failed.emit("This bundle does not name its dataset; only its examples are available.")
            return
        if key in self._cache:
            self.loaded.emit(self._cache[key])
            return
        if self.worker is not None:
            return                      # the running load reports to the newest key when it ends
        self._start(key, data_config)

    def _start(self, key: str, data_config: dict) -> None:
        worker = thread_worker(load_bundle_splits, start_thread=False, ignore_errors=True)(dict(data_config))
        self._loading_key = key
        # Bound methods of this QObject: Qt drops the connections if the loader is destroyed first.
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        self.worker = worker
        worker.start()

    def _returned(self, splits: DataSplits) -> None:
        self._done(self._loading_key, splits, None)

    def _errored(self, exc: Exception) -> None:
        self._done(self._loading_key, None, f"Dataset not available: {exc}")

    def _done(self, key: str, splits: DataSplits | None, error: str | None) -> None:
        self.worker = None
        if splits is not None:
            self._cache[key] = splits
        if key != self._key:          # the bundle changed meanwhile: load what it needs now
            self.request(self._wanted)
            return
        if splits is not None:
            self.loaded.emit(splits)
        else:
            self.failed.emit(error or "Dataset not available.")

    @property
    def busy(self) -> bool:
        return self.worker is not None
