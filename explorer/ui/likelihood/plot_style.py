"""Shared look of the panel's plots: colours of the two sets and presentation-mode fonts."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont

IN_COLOUR = (0, 114, 178)          # blue: normal images (Okabe-Ito)
OUT_COLOUR = (213, 94, 0)          # vermillion: anomalous images


def style_plot(plot: pg.PlotWidget, presentation: bool) -> None:
    """Tick and label fonts: 9 pt normally, 15 pt in presentation mode."""
    size = 15 if presentation else 9
    font = QFont()
    font.setPointSize(size)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setStyle(tickFont=font)
        axis.label.setFont(font)
        axis.enableAutoSIPrefix(False)
        axis.autoSIPrefixScale = 1.0      # pyqtgraph keeps a scale chosen before the prefix was turned off
    plot.title_size = f"{size + 1}pt"
    plot.setTitle(plot.getPlotItem().titleLabel.text, size=plot.title_size)


def set_title(plot: pg.PlotWidget, text: str) -> None:
    """A title in the plot's current (normal or presentation) size."""
    plot.setTitle(text, size=getattr(plot, "title_size", "10pt"))


def plain_plot(object_name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(object_name)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for name in ("left", "bottom"):
        plot.getAxis(name).enableAutoSIPrefix(False)
    return plot
