"""pyqtgraph plots that follow presentation mode: bigger tick and label fonts, thicker pens."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QSizePolicy

from explorer.ui.presentation import PLOT_TEXT_PT
from explorer.ui.presentation import style_plot as style_shared_plot

NORMAL_PT, PRESENTATION_PT = PLOT_TEXT_PT[False], PLOT_TEXT_PT[True]


def make_plot(object_name: str, x_label: str, y_label: str) -> pg.PlotWidget:
    """A static white plot (no mouse zoom, no menu) with labelled axes."""
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(object_name)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)   # the layout's stretch decides the height
    plot.setMinimumHeight(90)
    plot.setProperty("axis_labels", (x_label, y_label))
    sparse_vertical_ticks(plot.getAxis("left"))
    style_plot(plot, False)
    return plot


def sparse_vertical_ticks(axis: pg.AxisItem) -> None:
    """Labels on a short vertical axis at most every 1.5 text lines, so large presentation
    fonts never stack: the major step grows 1 → 2 → 5 → 10 (pyqtgraph's own choice ignores the font)."""
    original = type(axis).tickSpacing

    def spacing(min_value: float, max_value: float, size: float):
        levels = original(axis, min_value, max_value, size)
        if not levels or max_value <= min_value:
            return levels
        line = QFontMetricsF(axis.style["tickFont"] or QFont()).height()
        most = max(2, int(size // (1.5 * line)))                       # labels that fit one above another
        step = levels[0][0]
        while (max_value - min_value) / step + 1 > most:
            mantissa = round(step / 10 ** math.floor(math.log10(step)))
            step *= 2.5 if mantissa == 2 else 2.0                      # 1, 2, 5, 10, 20, 50 ...
        return [(step, 0)] if step != levels[0][0] else levels

    axis.tickSpacing = spacing


def style_plot(plot: pg.PlotWidget, presentation: bool) -> None:
    """Tick, label and title fonts for normal or presentation mode (the shared
    :func:`explorer.ui.presentation.style_plot`, black on the white plot)."""
    pt = PRESENTATION_PT if presentation else NORMAL_PT
    font = QFont()
    font.setPointSize(pt)
    x_label, y_label = plot.property("axis_labels") or ("", "")
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(side)
        axis.setStyle(tickFont=font)
        axis.setTextPen("k")
        axis.setPen("k")
        plot.setLabel(side, text, siPrefixEnableRanges=(), **{"font-size": f"{pt}pt", "color": "#000"})
    plot.setProperty("title_pt", pt)
    plot.setProperty("presentation", presentation)
    style_shared_plot(plot, presentation, title_color="#000")


def set_title(plot: pg.PlotWidget, text: str) -> None:
    """A title in the plot's current size; long ones break into lines in presentation mode."""
    style_shared_plot(plot, bool(plot.property("presentation")), title=text, title_color="#000")


def set_x_label(plot: pg.PlotWidget, text: str) -> None:
    """Change the bottom axis label, keeping the current font size."""
    x_label, y_label = plot.property("axis_labels") or ("", "")
    if text == x_label:
        return
    plot.setProperty("axis_labels", (text, y_label))
    pt = plot.property("title_pt") or NORMAL_PT
    plot.setLabel("bottom", text, siPrefixEnableRanges=(), **{"font-size": f"{pt}pt", "color": "#000"})
