"""Four live plots, one colour per method: reconstruction MSE, perplexity, codes used, dead codes."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.quantizer_lab import METHODS, MethodMetrics
from explorer.ui.widgets.sparse_ticks import sparse_horizontal_ticks, sparse_vertical_ticks

from .style import method_colour, restyle

# (metric field, objectName, title, y label, log y)
PLOTS = (
    ("recon_mse", "quantizerLabMsePlot", "MSE", "training MSE (log)", True),
    ("perplexity", "quantizerLabPerplexityPlot", "Perplexity", "exp(H)", False),
    ("codes_used", "quantizerLabCodesUsedPlot", "Codes used", "codes", False),
    ("dead_codes", "quantizerLabDeadCodesPlot", "Dead codes", "codes", False),
)
TOOLTIPS = {"recon_mse": "||x − D(z_q)||² per pixel on each training batch (log scale)",
            "perplexity": "exp(−Σ p log p) of the batch's code histogram: the effective number of codes",
            "codes_used": "distinct codes chosen in the training batch",
            "dead_codes": "codes not chosen in any of the last 50 training batches"}
AXIS_PEN, TEXT_PEN = "#555555", "#222222"    # pyqtgraph's default grey is faint on white
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
            # No grid and a y range that only grows in steps: a new point then repaints the curve alone,
            # not the axes (their text costs ~10 ms a repaint on a busy CPU; the window must not stall).
            item.disableAutoRange()
            item.setLabel("bottom", "step")
            item.setLabel("left", y_label)
            item.setLogMode(y=log_y)
            for side in ("left", "bottom"):
                axis = item.getAxis(side)
                axis.enableAutoSIPrefix(False)
                axis.setPen(AXIS_PEN)
                axis.setTextPen(TEXT_PEN)
            sparse_vertical_ticks(item.getAxis("left"))      # large F5 fonts: numbers never run together
            sparse_horizontal_ticks(item.getAxis("bottom"))
            plot.setMinimumSize(160, 120)
            self.plots[key], self.titles[key] = plot, title
            grid.addWidget(plot, 0, i)
        self.presentation = False
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {key: {} for key in self.plots}
        self.data: dict[str, dict[str, list[float]]] = {}
        self.steps: list[int] = []
        self.methods: tuple[str, ...] = ()
        self._dirty: set[str] = set()
        self._last_drawn: str | None = None
        self._y_ranges = {}
        self.set_presentation(False)

    def reset(self, methods: tuple[str, ...], total_steps: int) -> None:
        self.methods = tuple(methods)
        self.steps = []
        self._dirty = set()
        self._y_ranges: dict[str, tuple[float, float]] = {}
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
        """Buffer one step's numbers; :meth:`draw_next` puts them on screen, one plot at a time."""
        self.steps.append(step)
        for m in metrics:
            series = self.data.get(m.name)
            if series is None:
                continue
            for key in self.plots:
                series[key].append(float(getattr(m, key)))
        self._dirty.update(self.plots)

    def draw_next(self) -> bool:
        """Redraw the next plot with new data (one plot: a repaint costs ~20 ms); False when none waits."""
        keys = list(self.plots)
        # Round robin from the plot after the last one drawn: with new steps arriving faster than the
        # plots are redrawn, always starting from the first would starve the last ones (they stayed empty).
        start = (keys.index(self._last_drawn) + 1) % len(keys) if self._last_drawn in keys else 0
        for key in keys[start:] + keys[:start]:
            if key in self._dirty:
                self._dirty.discard(key)
                self._last_drawn = key
                x = np.asarray(self.steps, dtype=float)
                for name, series in self.data.items():
                    y = np.asarray(series[key], dtype=float)
                    if key == "recon_mse":
                        y = np.maximum(y, 1e-6)
                    self.curves[key][name].setData(x[:len(y)], y)
                self._grow_y_range(key)
                return True
        return False

    def _grow_y_range(self, key: str) -> None:
        """Widen the y range (never narrow it during a run) when a value leaves it, with head room."""
        values = [v for series in self.data.values() for v in series[key] if np.isfinite(v)]
        if not values:
            return
        log_y = key == "recon_mse"
        lo, hi = min(values), max(values)
        if log_y:
            lo, hi = np.log10(max(lo, 1e-6)), np.log10(max(hi, 1e-6))
        shown = self._y_ranges.get(key)
        if shown is not None and shown[0] <= lo and hi <= shown[1]:
            return
        span = max(hi - lo, 0.5 if log_y else 1.0)
        new = (lo - 0.15 * span, hi + 0.25 * span) if shown is None else \
            (min(shown[0], lo - 0.15 * span), max(shown[1], hi + 0.25 * span))
        if not log_y:
            new = (max(new[0], 0.0) if lo >= 0 else new[0], new[1])
        self._y_ranges[key] = new
        self.plots[key].setYRange(*new, padding=0)

    def last(self, name: str, key: str) -> float | None:
        values = self.data.get(name, {}).get(key)
        return values[-1] if values else None

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        for key, plot in self.plots.items():
            restyle(plot, on, self.titles[key])
            for curve in self.curves[key].values():
                pen = curve.opts["pen"]
                curve.setPen(pg.mkPen(pg.mkPen(pen).color(), width=LINE_WIDTH[on]))
