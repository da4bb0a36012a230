"""The lab's run in a worker thread (superqt ``GeneratorWorker``): load the data, then step the core.

:func:`run_lab_job` is the generator the worker runs. It yields :class:`LabStatus`,
:class:`~explorer.core.quantizer_lab.LabStep` (numpy copies and floats; the last one also hands
over the trained models, copies nobody else holds) and :class:`LabFailed`. Pause and Stop take
effect at the next yield, i.e. within one training step of every method.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Generator

import torch
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from superqt.utils import GeneratorWorker

from explorer.core.data import DataConfig, DataError, load_data
from explorer.core.quantizer_lab import STOP, LabConfig, run_lab


@dataclass
class LabJob:
    """What to run, prepared in the GUI thread."""
    config: LabConfig
    data: DataConfig
    threads: int = 1               # torch threads while the lab trains (the GUI keeps a core)


@dataclass
class LabStatus:
    text: str


@dataclass
class LabFailed:
    message: str                   # plain words for the status line
    detail: str = ""               # the traceback


def run_lab_job(job: LabJob) -> Generator[object, object, None]:
    """Load the data and train; every failure becomes one :class:`LabFailed`."""
    previous_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(max(1, job.threads))
        yield LabStatus(f"Loading {job.data.name} …")
        data = load_data(job.data)
        c, h, w = data.image_shape
        if h != w:
            raise DataError(f"The images are {h}x{w} pixels; the lab needs square images (set a resize size).")
        yield LabStatus(f"Training {len(job.config.methods)} quantizers on {data.name} …")
        yield from run_lab(job.config, data)
    except Exception as exc:  # a message in the panel, never a traceback dialog
        message = str(exc) if isinstance(exc, (DataError, ValueError, FloatingPointError)) else \
            f"The lab failed: {type(exc).__name__}: {exc}"
        yield LabFailed(message, traceback.format_exc())
    finally:
        torch.set_num_threads(previous_threads)


class LabRun(QObject):
    """Start, pause, resume and stop one lab run."""

    event = Signal(object)          # LabStatus | LabStep | LabFailed
    paused = Signal()
    resumed = Signal()
    finished = Signal()             # the worker thread is done (after the last event)

    def __init__(self, job: LabJob, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self._done = threading.Event()
        self._stopping = False
        self._worker = GeneratorWorker(run_lab_job, job)
        self._worker.yielded.connect(self.event.emit)
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

    def stop(self) -> None:
        """End after the current step (also when paused); the last event holds held-out results."""
        self._stopping = True
        self._worker.send(STOP)
        if self._worker.is_paused:
            self._worker.resume()

    def abort(self) -> None:
        """End at the next yield without results (the window is closing)."""
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
        return self._done.is_set()

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until the worker thread has finished and deliver its queued signals."""
        if not self._done.wait(timeout_s):
            return False
        QCoreApplication.sendPostedEvents()
        return True
