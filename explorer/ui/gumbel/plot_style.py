"""A pyqtgraph plot with the Gumbel panel's look: light normally, white on black and larger in
presentation mode (F5), colour-blind-safe colours."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from ..presentation import PLOT_TEXT_PT, style_plot
from ..widgets.sparse_ticks import sparse_vertical_ticks

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLORS = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
          "blue": "#0072B2", "red": "#D55E00", "purple": "#CC79A7", "grey": "#999999", "black": "#000000"}
EXPERT_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#999999")
LINE_WIDTH = {False: 2.0, True: 4.0}          # normal, presentation
FONT_PT = PLOT_TEXT_PT                # tick labels, axis labels, legends (9 pt / 15 pt)
MIN_PLOT = {False: (150, 150), True: (240, 230)}   # plots never shrink below this (scroll instead)
MIN_VIEW = {False: 90, True: 110}     # nor their data area: title, axes and legend come on top (px)
THEME = {False: {"background": "w", "axis": "#444444", "text": "#222222", "fg": "#000000"},
         True: {"background": "k", "axis": "#dddddd", "text": "#ffffff", "fg": "#ffffff"}}


def pen(color: str, presentation: bool, style=None, scale: float = 1.0) -> pg.QtGui.QPen:
    """A pen of the current line width; black lines turn white on the presentation background."""
    if color == COLORS["black"] and presentation:
        color = "#ffffff"
    p = pg.mkPen(color, width=LINE_WIDTH[presentation] * scale)
    if style is not None:
        p.setStyle(style)
    return p


class StyledPlot(pg.PlotWidget):
    """A plot with a title, axis labels and a legend that restyle for presentation mode.

    Subclasses draw their items and re-apply pens in :meth:`restyle` (called on every switch).
    """

    def __init__(self, title: str, object_name: str, accessible: str, x_label: str = "", y_label: str = "",
                 legend: bool | int = False, parent: QWidget | None = None,
                 view_box: pg.ViewBox | None = None) -> None:
        super().__init__(parent, viewBox=view_box)
        self.setObjectName(object_name)
        self.setAccessibleName(accessible)
        self.presentation = False
        self._title = title
        self.setMenuEnabled(False)
        self.hideButtons()
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        self._labels = {"bottom": x_label, "left": y_label}
        for side in ("left", "bottom"):
            item.getAxis(side).enableAutoSIPrefix(False)
        sparse_vertical_ticks(item.getAxis("left"))
        # The legend sits under the plot (``legend`` = its number of columns): it never hides a curve.
        self.legend = pg.LegendItem(colCount=int(legend), labelTextSize="9pt", verSpacing=-6) if legend else None
        if self.legend is not None:
            item.layout.addItem(self.legend, 4, 1)
        self.setMinimumSize(*MIN_PLOT[False])
        self._grown_height = {False: 0, True: 0}     # per mode: the minimum height its data area needed
        item.vb.sigResized.connect(self._keep_view_height)
        self._apply_style()

    def add_line(self, label: str) -> pg.PlotDataItem:
        """A new curve, listed in the legend (when there is one) as ``label``."""
        curve = self.plot([], [])
        self.add_legend(curve, label)
        return curve

    def add_legend(self, item, label: str) -> None:
        if self.legend is not None:
            self.legend.addItem(item, label)
            self._apply_style()

    def set_title(self, title: str) -> None:
        self._title = title
        self._apply_style_title()

    def title_text(self) -> str:
        return self._title

    def set_presentation(self, on: bool) -> None:
        self.presentation = bool(on)
        self._apply_style()
        width, height = MIN_PLOT[self.presentation]
        if self.legend is not None and self.presentation:   # the large legend rows under the plot need room too
            rows = math.ceil(len(self.legend.items) / max(1, self.legend.columnCount))
            height += int(rows * 1.5 * PLOT_TEXT_PT[self.presentation])
        grown = self._grown_height[self.presentation]
        if self.presentation and self._grown_height[False]:     # larger fonts, larger data area: at least
            grown = max(grown, self._grown_height[False] + MIN_VIEW[True] - MIN_VIEW[False])   # normal's need
        self.setMinimumSize(width, max(height, grown))
        self.restyle()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        QTimer.singleShot(0, self, self._keep_view_height)     # restyled while hidden (another tab page)

    def _keep_view_height(self, *_: object) -> None:
        """Grow the plot's minimum height so that its data area keeps MIN_VIEW pixels whatever its
        title, axis labels and legend take (a two-row legend squeezed the bias plot to 25 px)."""
        view = self.getPlotItem().vb
        around = self.height() - view.height()          # title, bottom axis, legend: at this width
        need = math.ceil(around + MIN_VIEW[self.presentation])
        if self.isVisible() and need > self.minimumHeight():
            self._grown_height[self.presentation] = need
            self.setMinimumHeight(need)

    def set_decade_ticks(self, axis: str, low: float, high: float) -> None:
        """On a log axis, label only the powers of ten (pyqtgraph's minor labels collide)."""
        decades = list(range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1))
        step = 1 if len(decades) <= 5 else 2 if len(decades) <= 10 else 3     # at most about five labels
        self.getPlotItem().getAxis(axis).setTicks([[(d, f"{10.0 ** d:g}") for d in decades if d % step == 0], []])

    def restyle(self) -> None:
        """Re-apply pens and brushes (subclasses)."""

    def _apply_style_title(self) -> None:
        theme = THEME[self.presentation]
        item = self.getPlotItem()
        item._presentation_title = self._title
        style_plot(self, self.presentation, title=self._title, title_color=theme["text"],   # breaks long titles
                   text_color=theme["text"])
        # a title wider than the plot is cut at the edges instead of pushing the axes out of view
        label = item.titleLabel
        label.setMinimumWidth(0)
        label._sizeHint[Qt.SizeHint.MinimumSize] = (0, label._sizeHint[Qt.SizeHint.MinimumSize][1])
        label.updateGeometry()

    def _apply_style(self) -> None:
        on = self.presentation
        theme = THEME[on]
        self.setBackground(theme["background"])
        font = QFont()
        font.setPointSize(FONT_PT[on])
        item = self.getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setTickFont(font)
            axis.setPen(pg.mkPen(theme["axis"], width=2 if on else 1))
            axis.setTextPen(pg.mkPen(theme["text"]))
            if self._labels[side]:
                axis.setLabel(self._labels[side], **{"font-size": f"{FONT_PT[on]}pt", "color": theme["text"]})
        if self.legend is not None:
            self.legend.setLabelTextSize(f"{FONT_PT[on]}pt")
            self.legend.setLabelTextColor(theme["text"])
            for _sample, label in self.legend.items:
                label.setText(label.text, size=f"{FONT_PT[on]}pt", color=theme["text"])
        self._apply_style_title()
