"""Colours of the lab: one per method (Okabe-Ito, distinguishable with colour-vision deficiencies)."""
from __future__ import annotations

# Yellow is left out: it does not show on the white plots.
METHOD_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999")


def method_colour(index: int) -> str:
    """The colour of the method in position ``index`` of a run (at most 8 race at once)."""
    return METHOD_COLOURS[index % len(METHOD_COLOURS)]


def restyle(plot, on: bool, title: str) -> None:
    """``style_plot``: the app's presentation sizes, tick labels readable on the white plots in both modes."""
    from explorer.ui.presentation import style_plot
    style_plot(plot, on, title)
