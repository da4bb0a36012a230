"""Gumbel panel at 1280×800 (issue 20): value labels are not cut at the top of the bars ("1.00",
"3.49") and no plot's data area is squeezed (the bias plot under its two-row legend was ~25 px)."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from explorer.ui.gumbel.bar_chart import BarChart
from explorer.ui.gumbel.plot_style import StyledPlot

from plot_pixels import show_page_of

LAPTOP = (1280, 763)        # a 1280×800 screen less a title bar
MIN_DATA_PX = {False: 88, True: 108}     # a plot's data area (view box) at least this high


def laid_out(qtbot, widget) -> None:
    show_page_of(widget)
    for _ in range(3):                 # minimum heights grow after a layout pass: let them settle
        QApplication.processEvents()
    qtbot.wait(1)


@pytest.fixture
def gumbel(qtbot, main_window):
    main_window.resize(*LAPTOP)
    panel = main_window.show_panel("gumbelPanel")
    yield main_window, panel
    main_window.set_presentation(False)


@pytest.mark.parametrize("presentation", [False, True], ids=["normal", "presentation"])
def test_bar_value_labels_are_inside_the_plot(qtbot, gumbel, presentation) -> None:
    window, panel = gumbel
    window.set_presentation(presentation)
    charts = panel.findChildren(BarChart)
    assert len(charts) >= 5
    cut = []
    for chart in charts:
        laid_out(qtbot, chart)
        if not chart.isVisibleTo(window):
            continue
        view = chart.getPlotItem().vb
        area = view.mapRectToScene(view.boundingRect())
        for label in chart.labels:
            if label.isVisible() and label.textItem.toPlainText():
                box = label.mapRectToScene(label.boundingRect())
                if not area.adjusted(-1, -1, 1, 1).contains(box):
                    cut.append(f"{chart.objectName()} {label.textItem.toPlainText()!r}: label {box.getCoords()} "
                               f"outside the plot area {area.getCoords()}")
    assert not cut, "\n".join(cut)


@pytest.mark.parametrize("presentation", [False, True], ids=["normal", "presentation"])
def test_no_gumbel_plot_is_squeezed(qtbot, gumbel, presentation) -> None:
    window, panel = gumbel
    window.set_presentation(presentation)
    small = []
    for plot in panel.findChildren(StyledPlot):
        laid_out(qtbot, plot)
        if not plot.isVisibleTo(window):
            continue
        height = plot.getPlotItem().vb.height()
        if height < MIN_DATA_PX[presentation]:
            small.append(f"{plot.objectName()}: data area {height:.0f} px high")
    assert not small, "\n".join(small)
