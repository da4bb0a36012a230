"""The Sampling panel on the instructor's screen: presentation mode (F5) in a 1280×800 main window.

The grid, the distribution and the growing decoded digit are what the room must see, so they
get the space (the details are hidden until asked for); Play ↔ Pause moves no other button; the
causal view's radio buttons are readable and not clipped by the tab frame.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton, QWidget

from explorer.ui.sampling.controls import SPEEDS
from test_sampling_panel import wait_idle

MIN_LIVE_SIDE = 280        # px: the code grid and the decoded image, each (7 cells of 40 px)
MIN_PLOT_HEIGHT = 150      # px: the conditional's bar chart


@pytest.fixture
def presenting(qtbot, main_window):
    """The main window at 1280×800, presentation mode on, Sampling shown with its results in."""
    main_window.set_presentation(True)
    main_window.resize(1280, 800)
    panel = main_window.show_panel("samplingPanel")
    wait_idle(qtbot, panel)
    qtbot.waitUntil(lambda: main_window.size().toTuple() == (1280, 800), timeout=3000)
    QApplication.processEvents()
    yield panel
    main_window.set_presentation(False)


def settle_layout(widget: QWidget) -> None:
    for _ in range(3):
        QApplication.processEvents()
        widget.layout().activate()


def test_live_views_get_the_space_in_presentation_mode(qtbot, presenting) -> None:
    panel = presenting
    for _ in range(10):
        qtbot.mouseClick(panel.controls.step, Qt.LeftButton)
    settle_layout(panel)
    grid, decoded, plot = panel.grid_view, panel.decoded_view, panel.distribution.plot
    assert min(grid.width(), grid.height()) >= MIN_LIVE_SIDE, grid.size()
    assert min(decoded.width(), decoded.height()) >= MIN_LIVE_SIDE, decoded.size()
    assert plot.height() >= MIN_PLOT_HEIGHT, plot.size()
    assert not panel.tabs.isVisible() and panel.details_toggle.text() == "Show details"
    # the details come back on request, the live views still larger than the side tabs
    qtbot.mouseClick(panel.details_toggle, Qt.LeftButton)
    settle_layout(panel)
    assert panel.tabs.isVisible() and panel.reproduce.isVisible() and panel.cost_line.isVisible()
    assert panel.tabs.width() < panel.width() / 2
    qtbot.mouseClick(panel.details_toggle, Qt.LeftButton)
    assert not panel.tabs.isVisible()
    # leaving presentation mode shows everything again
    panel.window().set_presentation(False)
    assert panel.details_toggle.isChecked() and panel.tabs.isVisibleTo(panel)


def test_play_and_pause_move_no_button(qtbot, presenting) -> None:
    panel = presenting
    c = panel.controls
    c.speed.setValue(SPEEDS.index(1))                 # one step a second: still playing when we look
    buttons = (c.play, c.step_back, c.step, c.run_to_end, c.reset, c.export_gif)
    settle_layout(c)
    paused = [b.geometry().getRect() for b in buttons]
    qtbot.mouseClick(c.play, Qt.LeftButton)
    assert panel.playing and "Pause" in c.play.text()
    settle_layout(c)
    playing = [b.geometry().getRect() for b in buttons]
    qtbot.mouseClick(c.play, Qt.LeftButton)
    assert not panel.playing and "Play" in c.play.text()
    settle_layout(c)
    assert playing == paused
    assert [b.geometry().getRect() for b in buttons] == paused


def indicator(button) -> np.ndarray:
    """The radio button's indicator, as RGB pixels."""
    opt = QStyleOptionButton()
    button.initStyleOption(opt)
    rect = button.style().subElementRect(QStyle.SE_RadioButtonIndicator, opt, button)
    image = button.grab(rect).toImage().convertToFormat(button.grab().toImage().Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return data.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(
        image.height(), image.width(), 3).astype(float)


def test_causal_view_radios_are_readable_and_not_clipped(qtbot, presenting) -> None:
    panel = presenting
    qtbot.mouseClick(panel.details_toggle, Qt.LeftButton)
    panel.tabs.setCurrentWidget(panel.receptive)
    settle_layout(panel)
    plain, gated = panel.receptive.plain, panel.receptive.gated
    assert gated.isChecked() and not plain.isChecked()
    # the chosen one stands out from the other from the back of the room
    chosen, other = indicator(gated), indicator(plain)
    assert chosen.shape == other.shape
    assert np.abs(chosen - other).mean() > 60
    # clear of the tab frame: the radio starts inside the page, a few pixels in
    page = panel.tabs.currentWidget()
    assert plain.mapTo(page, QPoint(0, 0)).x() >= 4
    assert page.mapTo(panel.tabs, QPoint(0, 0)).x() + plain.mapTo(page, QPoint(0, 0)).x() >= 6
