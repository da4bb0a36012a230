"""Gumbel-max is exact: how often argmax_k(log pi_k + g_k) wins over 10 000 draws, next to pi."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from explorer.core.gumbel_lab import GumbelMaxCheck

from .plot_style import COLORS, FONT_PT, THEME, StyledPlot, pen


class MaxHistogram(StyledPlot):
    """Bars: observed frequencies; diamonds: softmax(logits); title: chi-square p-value and seed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Gumbel-max", "gumbelMaxHistogram", "Gumbel-max histogram against softmax",
                         x_label="k = argmax(log π + g)", y_label="frequency", legend=1, parent=parent)
        self.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        self.expected = pg.ScatterPlotItem(symbol="d")
        self.addItem(self.bars)
        self.addItem(self.expected)
        self.add_legend(self.bars, "share of draws")
        self.add_legend(self.expected, "π = softmax(logits)")
        self.verdict = pg.TextItem("", anchor=(1.0, 0.0))      # chi-square result, top right of the view
        self.addItem(self.verdict)
        self.check: GumbelMaxCheck | None = None
        self.restyle()

    def set_check(self, check: GumbelMaxCheck) -> None:
        self.check = check
        k = len(check.counts)
        x = np.arange(k)
        self.bars.setOpts(x=x, height=check.frequencies)
        self.expected.setData(x, check.expected)
        self.getPlotItem().getAxis("bottom").setTicks([[(i, str(i)) for i in range(k)]])
        self.setXRange(-0.6, k - 0.4, padding=0)
        self.setYRange(0, max(check.frequencies.max(), check.expected.max()) * (1.6 if self.presentation else 1.4),
                       padding=0)
        verdict = "consistent with π" if check.p_value > 0.05 else "differs from π"
        draws = f"{check.draws:,}".replace(",", " ")
        self.set_title(f"Gumbel-max: {draws} draws, seed {check.seed}")
        self.verdict.setText(f"χ² = {check.chi2:.2f}, p = {check.p_value:.3f}\n{verdict}")
        self.verdict.setPos(k - 0.45, self.viewRange()[1][1])

    def restyle(self) -> None:
        on = self.presentation
        self.bars.setOpts(brush=pg.mkBrush(COLORS["sky"]), pen=pg.mkPen(None))
        self.expected.setPen(pen(COLORS["black"], on, scale=0.6))
        self.expected.setBrush(pg.mkBrush(COLORS["red"]))
        self.expected.setSize(18 if on else 12)
        font = self.font()
        font.setPointSize(FONT_PT[on])
        self.verdict.setFont(font)
        self.verdict.setColor(THEME[on]["text"])

    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        if self.check is not None:
            self.set_check(self.check)
