"""Event-loop gaps: a QTimer that should tick every ``interval_ms`` records how late each tick comes.

A gap far above the interval is a moment the window could not repaint or answer a click. The GUI
responsiveness benchmarks (training, sampling, the Quantizer lab) share this recorder and its summary.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer


class EventLoopGaps:
    """Milliseconds between consecutive ticks of a ``interval_ms`` timer in the GUI thread.

    ``first_step()`` (optional) says whether the measured work has produced its first step: gaps from
    then on are also summarised alone (start-up work such as data loading comes before it).
    ``on_tick()`` (optional) runs after each tick is recorded (a benchmark's own driving).
    """

    def __init__(self, interval_ms: int, first_step: Callable[[], bool] | None = None,
                 on_tick: Callable[[], None] | None = None) -> None:
        self.interval_ms = interval_ms
        self.gaps: list[float] = []
        self.first_step_at: int | None = None       # index into gaps of the first tick after the first step
        self._first_step = first_step
        self._on_tick = on_tick
        self._clock = QElapsedTimer()
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self._last)
        self._last = now
        if self.first_step_at is None and self._first_step is not None and self._first_step():
            self.first_step_at = len(self.gaps)
        if self._on_tick is not None:
            self._on_tick()

    def summary(self) -> dict:
        """ticks, max/p99/p50 gap and gaps over 50 ms (the first tick, measured from start, left out)."""
        g = np.asarray(self.gaps[1:], dtype=np.float64)
        out = {
            "timer_interval_ms": self.interval_ms,
            "ticks": int(g.size),
            "max_gap_ms": round(float(g.max()), 1) if g.size else None,
            "p99_gap_ms": round(float(np.percentile(g, 99)), 1) if g.size else None,
            "p50_gap_ms": round(float(np.percentile(g, 50)), 1) if g.size else None,
            "gaps_over_50ms": int((g > 50).sum()),
        }
        if self._first_step is not None:
            after = np.asarray(self.gaps[self.first_step_at:], dtype=np.float64) if self.first_step_at else np.zeros(0)
            out["max_gap_after_first_step_ms"] = round(float(after.max()), 1) if after.size else None
        return out
