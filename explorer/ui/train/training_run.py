"""A training run in a worker thread, controlled from the GUI (the shared :class:`GeneratorRun`).

The worker drives :func:`~.training_job.run_training`; its events arrive here in the GUI thread as
``event(object)``: Status | ModelCreated | Progress | Snapshot | Finished | Failed. Pause and Stop
take effect at the next yield, i.e. within one training step; Stop still sends a final weights
snapshot, Abort does not.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from ..workers.generator_run import GeneratorRun
from .training_job import TrainingJob, run_training


class TrainingRun(GeneratorRun):
    """Start, pause, resume and stop one training job running in a worker thread."""

    def __init__(self, job: TrainingJob, parent: QObject | None = None) -> None:
        super().__init__(run_training, job, parent=parent)
        self.job = job
