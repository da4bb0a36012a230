"""A bar per code: how often each code was chosen in the last few training steps."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from .history import TrainingHistory
from .live_plot import COLORS, LivePlot


class UsageHistogram(LivePlot):
    """K bars; dead codes show as gaps. Updated as the model trains."""

    TRAINING_TITLE = "Code usage (recent steps)"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.TRAINING_TITLE, "usageHistogram", "% of assignments", parent=parent,
                         legend=False, empty_text="Which codes the encoder picks: appears as it trains")
        self.getPlotItem().setLabel("bottom", "code index k")
        self.getPlotItem().setDownsampling(auto=False)
        self.getPlotItem().setClipToView(False)
        self.bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.85,
                                    brush=pg.mkBrush(COLORS["orange"]), pen=None)
        self.addItem(self.bars)
        self._k = 0

    def bar_count(self) -> int:
        """How many bars are drawn (K once a step has been seen)."""
        height = self.bars.opts.get("height")
        return 0 if height is None else len(height)

    def set_usage(self, fraction: np.ndarray | None) -> None:
        """Bar heights from each code's share of the recent assignments (fractions summing to 1)."""
        if fraction is None:
            self.bars.setOpts(x=np.zeros(0), height=np.zeros(0))
            self._k = 0
            self.set_empty(True)
            return
        self.set_empty(False)
        k = len(fraction)
        self.bars.setOpts(x=np.arange(k), height=100.0 * np.asarray(fraction, dtype=np.float64), width=0.85)
        if k != self._k:
            self._k = k
            self.getPlotItem().setXRange(-0.5, k - 0.5, padding=0.01)

    def update_from(self, history: TrainingHistory) -> None:
        self.set_usage(history.usage_fraction())
