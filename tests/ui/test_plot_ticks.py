"""Every plot of every panel shows readable tick numbers, in normal and in presentation mode.

Issue 20: with pyqtgraph 0.14 ``setTextPen(None)`` became an invisible pen, so the tick numbers
of most plots vanished in normal mode, and presentation mode drew the Gumbel plots' numbers
near-black on black; the test suite stayed green. Here each panel registered in
explorer/ui/panels.py is shown in the main window at 1280×800, each tab page holding a plot is
brought forward, the plot is grabbed as drawn, and the pixels inside each tick label's box (the
boxes the axis itself lays out), each axis label and each title must contrast with the plot's
background (WCAG 3:1 for the strongest pixel: no pen at all, or #111 on black, gives ~1).
Labels on one axis must not stack on top of each other either (the Train tab's log-scale loss
axis did in F5).
"""
from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication
from superqt.utils import WorkerBase

from explorer.ui.panels import PANELS

from plot_pixels import READABLE_CONTRAST, axis_reports, plot_name, show_page_of

SETTLE_MS = 20_000


def settle(qtbot, panel) -> None:
    def idle() -> bool:
        busy = getattr(panel, "is_busy", None)
        return not (QThreadPool.globalInstance().activeThreadCount() or WorkerBase._worker_set
                    or (callable(busy) and busy()))
    try:
        qtbot.waitUntil(idle, timeout=SETTLE_MS)
    except qtbot.TimeoutError:
        pass                                   # an animation keeps working: check it as it is
    QApplication.processEvents()


def panel_axes(qtbot, window, name: str):
    """(plot name, AxisReport) of every visible plot of one panel, each tab page shown in turn."""
    panel = window.show_panel(name)
    settle(qtbot, panel)
    reports, plots = [], []
    for view in panel.findChildren(pg.GraphicsView):
        show_page_of(view)
        if not view.isVisibleTo(window) or view.width() < 10 or view.height() < 10:
            continue
        plots.append(plot_name(view))
        reports.extend(axis_reports(view))
    return plots, reports


@pytest.fixture
def big_window(qtbot):
    """The main window at 1280×800 on the shipped model (real value ranges: e.g. the codebook's
    usage counts reach thousands)."""
    from explorer.core.bundle import load_bundle
    from explorer.core.paths import default_bundle_path
    from explorer.ui import MainWindow
    path = default_bundle_path()
    if path is None:
        pytest.skip("the shipped model (trained_models/mnist) is not in this checkout")
    window = MainWindow(bundle=load_bundle(path), remember=False)
    qtbot.addWidget(window, before_close_func=lambda w: w.train_panel.finish_now(keep=False))
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.set_presentation(False)


def test_every_plot_shows_readable_tick_numbers(qtbot, big_window) -> None:
    """Normal mode first, then presentation mode on the same window (the panels' results are
    computed once)."""
    window = big_window
    problems = []
    for presentation in (False, True):
        window.set_presentation(presentation)
        mode = "presentation" if presentation else "normal"
        checked = {}
        for spec in PANELS:
            plots, reports = panel_axes(qtbot, window, spec.object_name)
            checked[spec.object_name] = (len(plots), sum(len(r.labels) for r in reports))
            for report in reports:
                faint = report.unreadable()
                if faint:
                    problems.append(f"{mode}: {spec.object_name} {report.plot}: texts "
                                    f"{[(t.text, round(t.contrast, 2)) for t in faint]} have no pixel with "
                                    f"contrast >= {READABLE_CONTRAST} against the plot background")
                stacked = report.overlapping()
                if stacked:
                    problems.append(f"{mode}: {spec.object_name} {report.plot}: tick labels overlap: {stacked}")
        # the walk really looked at the plots: every panel that has plots had labels checked
        for name in ("trainPanel", "codebookPanel", "samplingPanel", "gumbelPanel", "likelihoodPanel"):
            plots, labels = checked[name]
            assert plots > 0 and labels > 0, f"{mode}: no plot of {name} was checked: {checked}"
        assert checked["gumbelPanel"][0] >= 10, checked
    assert not problems, "\n".join(problems)
