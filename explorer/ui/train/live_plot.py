"""A pyqtgraph plot of named curves against the training step, with a presentation style."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget

from ..presentation import PLOT_TEXT_PT, fit_title, set_plot_title, title_chars, title_size
from ..widgets.sparse_ticks import sparse_vertical_ticks

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLORS = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
          "blue": "#0072B2", "red": "#D55E00", "purple": "#CC79A7", "grey": "#BBBBBB"}

STEP_AXIS_GROWTH = 1.5        # the step axis grows to 1.5x the newest step when a curve reaches its end
MIN_STEP_SPAN = 20            # ... but spans at least this many steps
LINE_WIDTH = {False: 1.6, True: 4.0}          # normal, presentation
AXIS_FONT_PT = PLOT_TEXT_PT                   # normal, presentation (shared with every panel)
# Light plots like the other panels; white on black in presentation mode (projectors).
THEME = {False: {"background": "w", "axis": "#555555", "text": "#222222", "title": "#333333", "hint": "#8a8a8a"},
         True: {"background": "k", "axis": "#bbbbbb", "text": "#ffffff", "title": "#ffffff", "hint": "#bbbbbb"}}


def color(name: str, presentation: bool) -> str:
    """A named colour; yellow only where it shows (on black), black dots on white."""
    if name == "yellow" and not presentation:
        return "#000000"
    return COLORS[name]


class LivePlot(pg.PlotWidget):
    """Curves added by name, updated with :meth:`set_curve`; thicker lines in presentation mode."""

    def __init__(self, title: str, object_name: str, left_label: str, log_y: bool = False,
                 parent: QWidget | None = None, legend: bool = True,
                 empty_text: str = "No run yet: press Start") -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setAccessibleName(title)
        self._title = title
        self._presentation = False
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._total_steps: int | None = None     # the run's length once known (set_step_range)
        self._shown_to = 0                       # the step axis currently ends here
        self._colors: dict[str, str] = {}
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "step")
        item.setLabel("left", left_label)
        item.setLogMode(y=log_y)
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        for side in ("left", "bottom"):
            item.getAxis(side).enableAutoSIPrefix(False)
        sparse_vertical_ticks(item.getAxis("left"))     # large F5 fonts: labels never stack (log axes too)
        # The legend sits under the plot, in two columns: it never hides a curve.
        self.legend = pg.LegendItem(colCount=2, labelTextSize="9pt", verSpacing=-6)
        if legend:
            item.layout.addItem(self.legend, 4, 1)
        self.empty_label = QLabel(empty_text, self)
        self.empty_label.setObjectName(f"{object_name}Empty")
        self.empty_label.setAccessibleName(empty_text)
        self.empty_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._empty = True
        self._apply_style()

    def add_curve(self, name: str, label: str, color: str, symbol: str | None = None) -> pg.PlotDataItem:
        curve = self.plot([], [], connect="finite")
        curve.opts["name"] = label
        self.legend.addItem(curve, label)
        if symbol:
            curve.setPen(None)
            curve.setSymbol(symbol)
            curve.setSymbolPen(None)
        self.curves[name] = curve
        self._colors[name] = color
        self._style_curve(name)
        return curve

    def set_curve(self, name: str, x: np.ndarray, y: np.ndarray, positive_only: bool = False) -> None:
        """Replace a curve's data; with ``positive_only`` non-positive values are gaps (log axes)."""
        y = np.asarray(y, dtype=np.float64)
        if positive_only:
            y = np.where(y > 0, y, np.nan)
        x = np.asarray(x, dtype=np.float64)
        self.curves[name].setData(x, y, connect="finite")
        if len(y):
            self.set_empty(False)
            self.follow_step(float(x[-1]))

    def set_curve_visible(self, name: str, visible: bool) -> None:
        curve = self.curves[name]
        if curve.isVisible() != visible:
            curve.setVisible(visible)
            (self.legend.addItem(curve, curve.name()) if visible else self.legend.removeItem(curve))

    def curve_length(self, name: str) -> int:
        x, _ = self.curves[name].getData()
        return 0 if x is None else len(x)

    def clear_curves(self) -> None:
        for curve in self.curves.values():
            curve.setData([], [])
        self._total_steps, self._shown_to = None, 0
        self.getPlotItem().enableAutoRange(x=True)
        self.set_empty(True)

    def set_empty(self, empty: bool) -> None:
        """Show the hint in the middle of the plot while there is nothing to draw."""
        if empty == self._empty:
            return
        self._empty = empty
        self.empty_label.setVisible(empty)
        self._place_empty_label()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._place_empty_label()
        if getattr(self, "_presentation", False) and abs(self.width() - getattr(self, "_titled_width", 0)) > 40:
            self._set_title()                     # re-break a long presentation title for the new width

    def _place_empty_label(self) -> None:
        if "empty_label" not in self.__dict__:     # pyqtgraph resizes during its own __init__
            return
        self.empty_label.adjustSize()
        self.empty_label.move((self.width() - self.empty_label.width()) // 2,
                              (self.height() - self.empty_label.height()) // 2)

    def set_step_range(self, total_steps: int) -> None:
        """The run's length: the step axis then follows the run so far (see :meth:`follow_step`)."""
        self._total_steps = max(1, int(total_steps))
        self._shown_to = 0
        self.getPlotItem().enableAutoRange(x=False)
        self.follow_step(1)

    def follow_step(self, step: float) -> None:
        """Grow the step axis to fit ``step``: by half again each time, never past the run's end.

        A 30-second demo fills the plot instead of its left 5 %, and the ticks are re-laid out
        (repainted) only when the axis grows, not on every new step.
        """
        if self._total_steps is None or step <= self._shown_to:
            return
        self._shown_to = min(self._total_steps, max(MIN_STEP_SPAN, math.ceil(step * STEP_AXIS_GROWTH)))
        self.getPlotItem().setXRange(0, self._shown_to, padding=0.02)

    def set_title(self, title: str) -> None:
        self._title = title
        self._apply_style()

    def set_presentation(self, on: bool) -> None:
        self._presentation = on
        for name in self.curves:
            self._style_curve(name)
        self._apply_style()

    def _style_curve(self, name: str) -> None:
        curve, rgb = self.curves[name], color(self._colors[name], self._presentation)
        if curve.opts.get("symbol"):
            curve.setSymbolSize(11 if self._presentation else 6)
            curve.setSymbolBrush(pg.mkBrush(rgb))
        else:
            curve.setPen(pg.mkPen(rgb, width=LINE_WIDTH[self._presentation]))

    def _set_title(self) -> None:
        on = self._presentation
        self._titled_width = self.width()
        set_plot_title(self.getPlotItem(), f"<b>{fit_title(self._title, on, title_chars(self, on))}</b>",
                       size=title_size(on), color=THEME[on]["title"])

    def _apply_style(self) -> None:
        on = self._presentation
        theme = THEME[on]
        font = QFont()
        font.setPointSize(AXIS_FONT_PT[on])
        self.setBackground(theme["background"])
        item = self.getPlotItem()
        self._set_title()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setTickFont(font)
            axis.setPen(pg.mkPen(theme["axis"], width=2 if on else 1))
            axis.setTextPen(pg.mkPen(theme["text"]))
            axis.label.setFont(font)
        self.legend.setLabelTextSize(f"{AXIS_FONT_PT[on]}pt")
        self.legend.setLabelTextColor(theme["text"])
        for sample, label in self.legend.items:
            label.setText(label.text, size=f"{AXIS_FONT_PT[on]}pt", color=theme["text"])
        self.legend.setColumnCount(1 if on else 2)            # large labels: one per line
        self.empty_label.setStyleSheet(f"color: {theme['hint']}; background: transparent;")
        self.empty_label.setFont(font)
        self._place_empty_label()
