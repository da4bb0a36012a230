"""The lab's run in a worker thread (superqt ``GeneratorWorker``): load the data, then step the core.

:func:`run_lab_job` is the generator the worker runs. It yields :class:`LabStatus`,
:class:`~explorer.core.quantizer_lab.LabStep` (numpy copies and floats; the last one also hands
over the trained models, copies nobody else holds) and :class:`LabFailed`. Pause and Stop take
effect at the next yield, i.e. within one training step of every method.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Generator

import torch
from PySide6.QtCore import QObject

from explorer.core.data import DataConfig, DataError, load_data
from explorer.core.quantizer_lab import LabConfig, run_lab

from ..workers.generator_run import GeneratorRun


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


class LabRun(GeneratorRun):
    """Start, pause, resume and stop one lab run (events: LabStatus | LabStep | LabFailed); Stop ends
    after the current step and still measures every method on held-out images."""

    def __init__(self, job: LabJob, parent: QObject | None = None) -> None:
        super().__init__(run_lab_job, job, parent=parent)
        self.job = job
