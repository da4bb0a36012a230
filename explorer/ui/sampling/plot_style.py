"""pyqtgraph plots that follow presentation mode: bigger tick and label fonts, thicker pens."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QSizePolicy

from explorer.ui.presentation import PLOT_TEXT_PT
from explorer.ui.presentation import style_plot as style_shared_plot
from explorer.ui.widgets.sparse_ticks import sparse_vertical_ticks

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
    style_shared_plot(plot, presentation, title_color="#000", text_color="#000")


def set_title(plot: pg.PlotWidget, text: str) -> None:
    """A title in the plot's current size; long ones break into lines in presentation mode."""
    style_shared_plot(plot, bool(plot.property("presentation")), title=text, title_color="#000",
                      text_color="#000")


def set_x_label(plot: pg.PlotWidget, text: str) -> None:
    """Change the bottom axis label, keeping the current font size."""
    x_label, y_label = plot.property("axis_labels") or ("", "")
    if text == x_label:
        return
    plot.setProperty("axis_labels", (text, y_label))
    pt = plot.property("title_pt") or NORMAL_PT
    plot.setLabel("bottom", text, siPrefixEnableRanges=(), **{"font-size": f"{pt}pt", "color": "#000"})
