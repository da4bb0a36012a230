"""Four live plots, one colour per method: reconstruction MSE, perplexity, codes used, dead codes."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.quantizer_lab import METHODS, MethodMetrics
from explorer.ui.presentation import style_plot

from .style import method_colour

# (metric field, objectName, title, y label, log y)
PLOTS = (
    ("recon_mse", "quantizerLabMsePlot", "Training MSE", "MSE (log)", True),
    ("perplexity", "quantizerLabPerplexityPlot", "Perplexity", "exp(H)", False),
    ("codes_used", "quantizerLabCodesUsedPlot", "Codes used", "codes", False),
    ("dead_codes", "quantizerLabDeadCodesPlot", "Dead codes", "codes", False),
)
TOOLTIPS = {"recon_mse": "||x − D(z_q)||² per pixel on each training batch (log scale)",
            "perplexity": "exp(−Σ p log p) of the batch's code histogram: the effective number of codes",
            "codes_used": "distinct codes chosen in the training batch",
            "dead_codes": "codes not chosen in any of the last 50 training batches"}
LINE_WIDTH = {False: 1.8, True: 3.5}


class LabCurves(QWidget):
    """The training curves of a run; :meth:`reset` for a new run, :meth:`append` after every step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quantizerLabCurves")
        self.setAccessibleName("Training curves of every method")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.legend = QLabel("")
        self.legend.setObjectName("quantizerLabLegend")
        self.legend.setAccessibleName("Colour of each method")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid, 1)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.titles: dict[str, str] = {}
        for i, (key, object_name, title, y_label, log_y) in enumerate(PLOTS):
            plot = pg.PlotWidget(background="w")
            plot.setObjectName(object_name)
            plot.setAccessibleName(title)
            plot.setToolTip(TOOLTIPS[key])
            plot.setMenuEnabled(False)
            plot.hideButtons()
            item = plot.getPlotItem()
            item.showGrid(x=True, y=True, alpha=0.25)
            item.setLabel("bottom", "step")
            item.setLabel("left", y_label)
            item.setLogMode(y=log_y)
            item.getAxis("left").enableAutoSIPrefix(False)
            plot.setMinimumSize(160, 120)
            self.plots[key], self.titles[key] = plot, title
            grid.addWidget(plot, 0, i)
        self.presentation = False
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {key: {} for key in self.plots}
        self.data: dict[str, dict[str, list[float]]] = {}
        self.steps: list[int] = []
        self.methods: tuple[str, ...] = ()
        self.set_presentation(False)

    def reset(self, methods: tuple[str, ...], total_steps: int) -> None:
        self.methods = tuple(methods)
        self.steps = []
        self.data = {name: {key: [] for key in self.plots} for name in methods}
        for key, plot in self.plots.items():
            plot.clear()
            self.curves[key] = {}
            for i, name in enumerate(methods):
                self.curves[key][name] = plot.plot([], [], pen=pg.mkPen(method_colour(i),
                                                                        width=LINE_WIDTH[self.presentation]))
            plot.setXRange(0, max(1, total_steps), padding=0.02)
        self.legend.setText("  ".join(f"<span style='color:{method_colour(i)}'>■</span> {METHODS[n].label}"
                                      for i, n in enumerate(methods)))

    def append(self, step: int, metrics: list[MethodMetrics]) -> None:
        self.steps.append(step)
        x = np.asarray(self.steps, dtype=float)
        for m in metrics:
            series = self.data.get(m.name)
            if series is None:
                continue
            for key in self.plots:
                series[key].append(float(getattr(m, key)))
                y = np.asarray(series[key], dtype=float)
                if key == "recon_mse":
                    y = np.maximum(y, 1e-6)
                self.curves[key][m.name].setData(x, y)

    def last(self, name: str, key: str) -> float | None:
        values = self.data.get(name, {}).get(key)
        return values[-1] if values else None

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        for key, plot in self.plots.items():
            style_plot(plot, on, self.titles[key])
            for curve in self.curves[key].values():
                pen = curve.opts["pen"]
                curve.setPen(pg.mkPen(pg.mkPen(pen).color(), width=LINE_WIDTH[on]))
