"""Drives the prior's raster steps from a QTimer so the GUI never waits for sampling.

Instant mode runs as many steps as fit in a few milliseconds per timer tick; animated
mode shows one position per tick. ``running_changed`` fires whenever a run starts or ends,
however it ends (finished, failed, cancelled), so whoever locks a view for the run can
unlock it in one place. Each step is p(z_ij | z_<ij) at one cell (notes,
"PixelCNN: Inference"); cells outside the region are given and kept.
"""
from __future__ import annotations

import time
from typing import Iterator

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from explorer.core.latent_edit import PriorUseError
from explorer.core.sampling import RasterStep


class PriorStepper(QObject):
    """Runs an iterator of :class:`RasterStep` a few steps per event-loop pass."""

    stepped = Signal(object)        # the latest RasterStep
    finished = Signal(object)       # final grid (h, w) int64
    failed = Signal(str)            # a plain message; the run has ended
    running_changed = Signal(bool)  # True when a run starts, False when it ends in any way

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._steps: Iterator[RasterStep] | None = None
        self._last: RasterStep | None = None
        self.animated = False
        self.budget_s = 0.008
        self.frame_ms = 45

    @property
    def running(self) -> bool:
        return self._steps is not None

    def start(self, steps: Iterator[RasterStep], animated: bool) -> None:
        self.cancel()
        self._steps, self._last, self.animated = steps, None, animated
        self._timer.start(self.frame_ms if animated else 0)
        self.running_changed.emit(True)

    def cancel(self) -> None:
        """Stop the run, if any (its partial grid is dropped)."""
        self._timer.stop()
        steps, self._steps = self._steps, None
        if steps is None:
            return
        close = getattr(steps, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # a generator's cleanup failing must not keep the view locked
                pass
        self.running_changed.emit(False)

    def _tick(self) -> None:
        if self._steps is None:
            return
        deadline = time.perf_counter() + self.budget_s
        try:
            while True:
                step = next(self._steps)
                self._last = step
                if self.animated and bool(step.sampled[0]):
                    break                      # one drawn position per frame
                if not self.animated and time.perf_counter() > deadline:
                    break
        except StopIteration:
            self._timer.stop()
            self._steps = None
            self.running_changed.emit(False)
            if self._last is not None:
                self.finished.emit(self._last.grid[0].numpy().astype(np.int64))
            return
        except Exception as exc:  # a model/grid mismatch, memory: report in words, keep the grid
            self.cancel()
            self.failed.emit(failure_message(exc))
            return
        self.stepped.emit(self._last)


def failure_message(exc: BaseException) -> str:
    """What the user reads when the prior stops half-way: plain words, never the raw exception."""
    if isinstance(exc, PriorUseError):
        return f"Sampling stopped: {exc}"
    if isinstance(exc, MemoryError):
        reason = "there was not enough memory"
    else:
        reason = "the prior does not fit this grid or model"
    return f"Sampling stopped: {reason}. The grid is as it was before and can be edited."
