"""A training run in a worker thread (superqt ``GeneratorWorker``), controlled from the GUI.

The worker drives :func:`~.training_job.run_training`; its events arrive here in the GUI
thread as ``event(object)``. Pause and Stop take effect at the next yield, i.e. within one
training step. :meth:`TrainingRun.wait` blocks until the thread has finished and delivers the
events still queued, so a window can close only once nothing runs any more.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from superqt.utils import GeneratorWorker

from .training_job import STOP, TrainingJob, run_training


class TrainingRun(QObject):
    """Start, pause, resume and stop one training job running in a worker thread."""

    event = Signal(object)          # Status | ModelCreated | Progress | Snapshot | Finished | Failed
    paused = Signal()
    resumed = Signal()
    finished = Signal()             # the worker thread is done (after the last event)

    def __init__(self, job: TrainingJob, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self._done = threading.Event()
        self._stopping = False
        self._started = False
        self._worker: GeneratorWorker = GeneratorWorker(run_training, job)
        self._worker.yielded.connect(self._on_yielded)
        self._worker.paused.connect(self._on_paused)
        self._worker.resumed.connect(self._on_resumed)
        self._worker.finished.connect(self._on_finished)
        # Set from the worker thread itself, so wait() needs no event loop.
        self._worker.finished.connect(self._done.set, Qt.ConnectionType.DirectConnection)

    # ------------------------------------------------------------------ control (GUI thread)
    def start(self) -> None:
        self._started = True
        self._worker.start()

    def pause(self) -> None:
        self._worker.pause()

    def resume(self) -> None:
        self._worker.resume()

    def stop(self) -> None:
        """Stop after the current step; the worker still sends a final weights snapshot."""
        self._stopping = True
        self._worker.send(STOP)
        if self._worker.is_paused:
            self._worker.resume()

    def abort(self) -> None:
        """Stop at the next yield without a final snapshot (the result is discarded)."""
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

        Returns False if it did not finish in time (it is still running).
        """
        if not self._started:
            return True
        if not self._done.wait(timeout_s):
            return False
        QCoreApplication.sendPostedEvents()
        return True

    # ------------------------------------------------------------------ worker -> GUI thread
    def _on_yielded(self, item: object) -> None:
        self.event.emit(item)

    def _on_paused(self) -> None:
        self.paused.emit()

    def _on_resumed(self) -> None:
        self.resumed.emit()

    def _on_finished(self) -> None:
        self.finished.emit()
