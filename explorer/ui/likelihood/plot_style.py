"""Shared look of the panel's plots: colours of the two sets and presentation-mode fonts."""
from __future__ import annotations

import pyqtgraph as pg

from ..presentation import style_plot as style_shared_plot
from ..widgets.plain_text import escape_markup

IN_COLOUR = (0, 114, 178)          # blue: normal images (Okabe-Ito)
OUT_COLOUR = (213, 94, 0)          # vermillion: anomalous images


def style_plot(plot: pg.PlotWidget, presentation: bool) -> None:
    """Title, tick, axis-label and legend fonts: 9 pt normally, 15 pt in presentation mode
    (the shared :func:`explorer.ui.presentation.style_plot`, which also breaks long titles)."""
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.enableAutoSIPrefix(False)
        axis.autoSIPrefixScale = 1.0      # pyqtgraph keeps a scale chosen before the prefix was turned off
    plot.presentation = presentation
    for name in ("left", "bottom"):               # black text on the white plot (pyqtgraph's grey is faint)
        axis = plot.getAxis(name)
        axis.setTextPen("k")
        axis.setPen("k")
        axis.labelStyle["color"] = "#000"
    style_shared_plot(plot, presentation, title_color="#000", text_color="#000")
    legend = plot.getPlotItem().legend
    if legend is not None:
        legend.setLabelTextColor("#000")
        for _sample, label in legend.items:
            label.setText(label.text, color="#000")


def set_title(plot: pg.PlotWidget, text: str, markup: bool = False) -> None:
    """A title in the plot's current (normal or presentation) size; ``text`` is plain text (file
    names may be in it) unless ``markup`` says it is the caller's own HTML."""
    style_shared_plot(plot, getattr(plot, "presentation", False), title=text if markup else escape_markup(text),
                      title_color="#000", text_color="#000")


def plain_plot(object_name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(object_name)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for name in ("left", "bottom"):
        plot.getAxis(name).enableAutoSIPrefix(False)
    return plot
