"""A bar chart of one K-vector (one-hot argmax, softmax, a sample, the noise), each bar labelled."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QWidget

from .plot_style import COLORS, FONT_PT, THEME, StyledPlot, pen


class BarChart(StyledPlot):
    """K bars with their values written above them; optionally a second, outlined set (``ghost``).

    ``y_range`` is the data range always shown (probabilities: 0 to 1), None to follow the values;
    above it (and below negative bars) the axis leaves room for the value labels, in pixels.
    """

    def __init__(self, title: str, object_name: str, accessible: str, color: str = COLORS["blue"],
                 y_range: tuple[float, float] | None = (0.0, 1.0), y_label: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(title, object_name, accessible, x_label="k", y_label=y_label, parent=parent)
        self.color = color
        self.y_range = y_range
        self.setMouseEnabled(x=False, y=False)
        self.values = np.zeros(0)
        self.ghost_values: np.ndarray | None = None
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.ghost = pg.BarGraphItem(x=[], height=[], width=0.7, brush=None)
        self.addItem(self.bars)
        self.addItem(self.ghost)
        self.zero_line = pg.InfiniteLine(pos=0, angle=0, movable=False)
        self.addItem(self.zero_line)
        self.labels: list[pg.TextItem] = []
        self.getPlotItem().showGrid(x=False, y=True, alpha=0.2)
        self.getPlotItem().vb.sigResized.connect(self._fit_y_range)   # label room is in pixels
        self.restyle()

    def set_values(self, values: np.ndarray, ghost: np.ndarray | None = None) -> None:
        """Show ``values`` (K,) as bars; ``ghost`` (K,) as outlined bars on top (or None)."""
        self.values = np.asarray(values, dtype=np.float64).copy()
        self.ghost_values = None if ghost is None else np.asarray(ghost, dtype=np.float64).copy()
        k = len(self.values)
        x = np.arange(k)
        self.bars.setOpts(x=x, height=self.values)
        if self.ghost_values is None:
            self.ghost.setOpts(x=np.zeros(0), height=np.zeros(0))
        else:
            self.ghost.setOpts(x=x, height=self.ghost_values)
        while len(self.labels) < k:
            label = pg.TextItem("", anchor=(0.5, 1.0))
            self.addItem(label)
            self.labels.append(label)
        for i, label in enumerate(self.labels):
            label.setVisible(i < k)
        shown = labelled_bars(self.values)
        for i in range(k):
            v = self.values[i]
            self.labels[i].setText(_format(v) if i in shown else "")
            self.labels[i].setAnchor((0.5, 1.0) if v >= 0 else (0.5, 0.0))
            self.labels[i].setPos(i, v)
        self.getPlotItem().getAxis("bottom").setTicks([[(i, str(i)) for i in range(k)]])
        self.setXRange(-0.75, k - 0.25, padding=0)      # room for the outer bars' labels
        self.restyle()
        self._fit_y_range()

    def _fit_y_range(self, *_: object) -> None:
        """The data range plus a value label's height above it (and below it for negative bars), so
        no label is cut at the plot's edge whatever the plot's height and font."""
        if not len(self.values):
            return
        if self.y_range is not None:
            lo, hi = self.y_range
        else:
            every = self.values if self.ghost_values is None else np.concatenate([self.values, self.ghost_values])
            lo, hi = float(min(0.0, every.min())), float(max(0.0, every.max()))
        span = max(hi - lo, 1e-6)
        height = self.getPlotItem().vb.height()
        share = min(0.4, (self._label_height() + LABEL_GAP_PX) / height) if height > 0 else 0.3
        sides = 2 if lo < 0 else 1                       # labels of negative bars hang below them
        room = share * span / (1.0 - sides * share)      # label pixels, in data units at this height
        self.setYRange(lo - room * (lo < 0), hi + room, padding=0)

    def _label_height(self) -> float:
        """A value label's height in pixels (its font and the text item's margins)."""
        shown = [label for label in self.labels if label.isVisible() and label.textItem.toPlainText()]
        if shown:
            return max(label.textItem.boundingRect().height() for label in shown)
        return QFontMetricsF(self.labels[0].textItem.font() if self.labels else self.font()).height() + 8

    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        if len(self.values):
            self.set_values(self.values, self.ghost_values)

    def restyle(self) -> None:
        on = self.presentation
        self.bars.setOpts(brush=pg.mkBrush(self.color), pen=pg.mkPen(None))
        self.ghost.setOpts(brush=None, pen=pen(COLORS["black"], on, Qt.PenStyle.DashLine, 0.8))
        self.zero_line.setPen(pg.mkPen(THEME[on]["axis"]))
        font = self.font()
        font.setPointSize(FONT_PT[on] - (1 if len(self.values) > 6 and not on else 0))
        for label in self.labels:
            label.setColor(THEME[on]["text"])
            label.setFont(font)


LABEL_GAP_PX = 3              # between a value label and the plot's top edge
MAX_LABELS_ALL = 5            # up to this K every bar is labelled; above, only the largest few


def labelled_bars(values: np.ndarray, most: int = 3) -> set[int]:
    """Which bars get a value label: all for small K, else the ``most`` largest |values| (not tiny ones)."""
    if len(values) <= MAX_LABELS_ALL:
        return set(range(len(values)))
    size = np.abs(values)
    order = np.argsort(-size)[:most]
    return {int(i) for i in order if size[i] >= 0.1 * size.max() and size[i] > 0}


def _format(v: float) -> str:
    """Two decimals, or a short power of ten for tiny non-zero values (0.003 -> '3e-3')."""
    if v != 0 and abs(v) < 0.005:
        return f"{v:.0e}".replace("e-0", "e-")
    return f"{v:.2f}"
