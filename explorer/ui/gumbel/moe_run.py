"""The mixture-of-experts training in a worker thread (superqt ``GeneratorWorker``), pausable.

The worker steps :func:`explorer.core.routing.train_routing`; each snapshot (numpy copies only)
arrives in the GUI thread as ``snapshot(object)``. Pause and quit take effect at the next
snapshot (every few training steps).
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from superqt.utils import GeneratorWorker

from explorer.core.routing import RoutingConfig, train_routing


class RoutingRun(QObject):
    """Start, pause, resume and quit one routing run."""

    snapshot = Signal(object)       # RoutingSnapshot
    paused = Signal()
    resumed = Signal()
    finished = Signal()

    def __init__(self, config: RoutingConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self._done = threading.Event()
        self._worker = GeneratorWorker(train_routing, config)
        self._worker.yielded.connect(self.snapshot.emit)
        self._worker.paused.connect(self.paused.emit)
        self._worker.resumed.connect(self.resumed.emit)
        self._worker.finished.connect(self.finished.emit)
        self._worker.finished.connect(self._done.set, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self._worker.start()

    def pause(self) -> None:
        self._worker.pause()

    def resume(self) -> None:
        self._worker.resume()

    @property
    def is_paused(self) -> bool:
        return self._worker.is_paused

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def quit(self) -> None:
        """Stop at the next snapshot (also when paused)."""
        self._worker.quit()
        if self._worker.is_paused:
            self._worker.resume()

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until the worker thread has finished and deliver its queued signals."""
        if not self._done.wait(timeout_s):
            return False
        QCoreApplication.sendPostedEvents()
        return True
