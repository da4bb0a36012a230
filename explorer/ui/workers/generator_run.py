"""One pausable, stoppable run of a generator in a worker thread (superqt ``GeneratorWorker``).

The generator's items arrive in the GUI thread as ``event(object)``. Pause, Stop and Abort take
effect at the next yield. :meth:`GeneratorRun.wait` blocks until the thread has finished and
delivers the events still queued, so a window can close only once nothing runs any more. The Train
panel's training run and the Quantizer lab's run are such runs.
"""
from __future__ import annotations

import threading
from typing import Callable, Generator

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from superqt.utils import GeneratorWorker

STOP = "stop"                      # sent into the generator (= training_job.STOP, quantizer_lab.STOP): end
                                   # after the current step, with results


class GeneratorRun(QObject):
    """Start, pause, resume, stop and abort ``function(*args)`` (a generator) in a worker thread."""

    event = Signal(object)          # whatever the generator yields
    paused = Signal()
    resumed = Signal()
    finished = Signal()             # the worker thread is done (after the last event)

    def __init__(self, function: Callable[..., Generator], *args, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._done = threading.Event()
        self._stopping = False
        self._started = False
        self._worker = GeneratorWorker(function, *args)
        self._worker.yielded.connect(self.event.emit)
        self._worker.paused.connect(self.paused.emit)
        self._worker.resumed.connect(self.resumed.emit)
        self._worker.finished.connect(self.finished.emit)
        # Set from the worker thread itself, so wait() needs no event loop.
        self._worker.finished.connect(self._done.set, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self._started = True
        self._worker.start()

    def pause(self) -> None:
        self._worker.pause()

    def resume(self) -> None:
        self._worker.resume()

    def stop(self) -> None:
        """End after the current step (also when paused); the generator still yields its results."""
        self._stopping = True
        self._worker.send(STOP)
        if self._worker.is_paused:
            self._worker.resume()

    def abort(self) -> None:
        """End at the next yield without results (they would be discarded: the window is closing)."""
        self._stopping = True
        self._worker.quit()
        if self._worker.is_paused:
            self._worker.resume()

    @property
    def is_paused(self) -> bool:
        return self._worker.is_paused

    @property
    def is_stopping(self) -> bool:
        return self._stopping

    @property
    def is_done(self) -> bool:
        return self._done.is_set() or not self._started

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until the worker thread has finished, then deliver its queued events.
        Returns False if it did not finish in time (it is still running)."""
        if not self._started:
            return True
        if not self._done.wait(timeout_s):
            return False
        QCoreApplication.sendPostedEvents()
        return True
