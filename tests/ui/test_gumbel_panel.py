"""The Gumbel-Softmax panel driven like a user: slider, presets, noise, hard toggle, bars, STE, routing."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QSlider, QSpinBox, QWidget

from explorer.core import gumbel_lab as lab
from explorer.core.models.gumbel import gumbel_softmax
from explorer.ui.gumbel.panel import GumbelPanel

ISSUE_NAMES = ("gumbelPanel", "gumbelLogits", "gumbelTemperature", "gumbelPresets", "gumbelHard", "gumbelResample",
               "gumbelAnimate", "gumbelSeed", "gumbelArgmaxBars", "gumbelSoftmaxBars", "gumbelSampleBars",
               "gumbelNoiseBars", "gumbelMaxHistogram", "gumbelCurves", "gumbelGradientPlot", "gumbelAnnealPlot",
               "steCaseStudies", "moeRouting", "moeStart", "moeAccuracy")


@pytest.fixture
def panel(qtbot, app_state):
    widget = GumbelPanel(app_state)
    qtbot.addWidget(widget, before_close_func=lambda w: w.shutdown())
    widget.resize(1280, 720)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def child(panel: QWidget, cls, name: str):
    found = panel.findChild(cls, name)
    assert found is not None, name
    return found


def test_every_issue_name_exists_with_an_accessible_name(main_window):
    gumbel = main_window.show_panel("gumbelPanel")
    assert gumbel.objectName() == "gumbelPanel"
    for name in ISSUE_NAMES:
        widget = gumbel if name == "gumbelPanel" else gumbel.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name


def test_moving_the_slider_changes_the_soft_sample_and_lambda_001_is_one_hot(panel, qtbot):
    slider = child(panel, QSlider, "gumbelTemperature")
    before = panel.current_sample()
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageDown)                    # lambda 1 -> 10^-0.5
    after = panel.current_sample()
    assert panel.playground.lam == pytest.approx(10 ** -0.5, rel=1e-9)
    assert not np.allclose(before, after)
    assert after.max() > before.max()                              # same noise, sharper sample
    qtbot.keyClick(slider, Qt.Key.Key_Home)                        # lambda = 0.01
    y = panel.current_sample()
    assert panel.playground.lam == pytest.approx(0.01)
    assert y.shape == (3,) and np.isfinite(y).all()
    np.testing.assert_allclose(y, np.eye(3)[y.argmax()], atol=1e-3)
    for chart in ("gumbelSoftmaxBars", "gumbelNoiseBars"):
        assert np.isfinite(panel.findChild(QWidget, chart).values).all()
    assert "0.01" in child(panel, QLabel, "gumbelTemperatureValue").text()


def test_presets_are_the_notes_values_and_the_same_noise_sharpens(panel, qtbot):
    noise = panel.playground.noise.copy()
    maxes = []
    for value in (1.0, 0.5, 0.1):
        qtbot.mouseClick(child(panel, QPushButton, f"gumbelPreset{str(value).replace('.', '_')}"),
                         Qt.MouseButton.LeftButton)
        assert panel.playground.lam == value
        y = panel.current_sample()
        np.testing.assert_allclose(y, lab.softmax(np.array(lab.NOTES_LOGITS) + noise, value), atol=1e-12)
        maxes.append(y.max())
    assert maxes == sorted(maxes)
    np.testing.assert_array_equal(panel.playground.noise, noise)    # one draw kept while lambda moved


def test_resample_draws_the_next_seed_and_animate_keeps_drawing(panel, qtbot):
    seed = child(panel, QSpinBox, "gumbelSeed")
    old_noise = panel.findChild(QWidget, "gumbelNoiseBars").values.copy()
    qtbot.mouseClick(child(panel, QPushButton, "gumbelResample"), Qt.MouseButton.LeftButton)
    assert seed.value() == 1
    new_noise = panel.findChild(QWidget, "gumbelNoiseBars").values
    assert not np.allclose(old_noise, new_noise)
    np.testing.assert_allclose(new_noise, lab.gumbel_noise(3, 1))   # the seed shown made the noise
    assert "seed 1" in child(panel, QLabel, "gumbelSampleExplanation").text()
    animate = child(panel, QPushButton, "gumbelAnimate")
    qtbot.mouseClick(animate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: seed.value() >= 3, timeout=5000)
    qtbot.mouseClick(animate, Qt.MouseButton.LeftButton)
    assert not panel.playground.timer.isActive()


def test_hard_toggle_shows_one_hot_forward_and_the_soft_gradient(panel, qtbot):
    panel.set_temperature(0.5)
    soft = panel.current_sample()
    qtbot.mouseClick(child(panel, QCheckBox, "gumbelHard"), Qt.MouseButton.LeftButton)
    hard = panel.current_sample()
    k = int(soft.argmax())
    np.testing.assert_array_equal(hard, np.eye(3)[k])
    sample_bars = panel.findChild(QWidget, "gumbelSampleBars")
    np.testing.assert_allclose(sample_bars.ghost_values, soft)
    backward = panel.findChild(QWidget, "gumbelBackwardBars")
    assert backward.isVisible()
    # the bars are autograd's gradient of the chosen output y_k through the straight-through sample
    x = torch.tensor(lab.NOTES_LOGITS, dtype=torch.float64, requires_grad=True)
    gumbel_softmax(x, 0.5, hard=True, noise=torch.tensor(panel.playground.noise))[k].backward()
    np.testing.assert_allclose(backward.values, x.grad.numpy(), atol=1e-12)


def test_k_and_spin_boxes_and_dragging_a_bar_edit_the_logits(panel, qtbot):
    k_spin = child(panel, QSpinBox, "gumbelK")
    k_spin.setValue(5)
    assert panel.current_sample().shape == (5,)
    assert len(panel.findChild(QWidget, "gumbelArgmaxBars").values) == 5
    qtbot.waitUntil(lambda: panel.playground.histogram.check.counts.shape == (5,), timeout=2000)   # debounced
    spin = panel.findChild(QWidget, "gumbelLogit3")
    spin.setValue(4.0)
    assert panel.playground.logits[3] == 4.0
    bars = panel.findChild(QWidget, "gumbelLogitBars")
    view_box = bars.getPlotItem().vb
    scene_pos = view_box.mapViewToScene(QPointF(1.0, -2.0))
    widget_pos = bars.mapFromScene(scene_pos)
    qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos)
    assert panel.playground.logits[1] == pytest.approx(-2.0, abs=0.15)
    assert panel.findChild(QWidget, "gumbelLogit1").value() == pytest.approx(panel.playground.logits[1], abs=0.01)


def test_gumbel_max_histogram_passes_chi_square_and_shows_it(panel, qtbot):
    hist = panel.findChild(QWidget, "gumbelMaxHistogram")
    check = hist.check
    assert check.draws == 10_000 and check.seed == 0
    assert check.p_value > 0.05
    assert f"p = {check.p_value:.3f}" in hist.verdict.toPlainText()
    np.testing.assert_allclose(hist.bars.opts["height"].sum(), 1.0)


def test_gradient_plot_follows_the_logits_and_target(panel, qtbot):
    grads = panel.findChild(QWidget, "gumbelGradientPlot")
    np.testing.assert_allclose(grads.stats.exact, lab.exact_gradient(np.array(lab.NOTES_LOGITS), grads.target()))
    panel.findChild(QWidget, "gumbelTarget0").setValue(1.0)
    np.testing.assert_allclose(grads.stats.exact, lab.exact_gradient(np.array(lab.NOTES_LOGITS), [1.0, 1.0, 0.0]))
    panel.set_temperature(0.1)
    assert grads.bias_plot.marker.value() == pytest.approx(-1.0)
    anneal = panel.findChild(QWidget, "gumbelAnnealPlot")
    panel.findChild(QWidget, "gumbelAnnealRate").setValue(0.01)
    x, y = anneal.yours.getData()
    np.testing.assert_allclose(y, anneal.schedule().values(x))
    _, form = anneal.training.getData()
    assert form[0] == anneal.form.start


def test_ste_regression_learns_only_with_the_estimator(panel, qtbot):
    ste = panel.findChild(QWidget, "steCaseStudies")
    slider = child(panel, QSlider, "steX")
    ste.timer.setInterval(1)                                       # the same steps, faster
    ste.set_x(1.3)
    assert "round(x) = <b>1</b>" in ste.readout.text() and "the STE <b>1</b>" in ste.readout.text()
    qtbot.mouseClick(child(panel, QPushButton, "steTrain"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ste.is_training(), timeout=20_000)
    last = ste.last
    assert last.step == ste.config.steps
    assert last.loss_ste < 0.05 and last.loss_plain > 5.0
    assert slider.value() > 0


def test_moe_trains_in_a_worker_pauses_and_routes(panel, qtbot):
    routing = panel.findChild(QWidget, "moeRouting")
    pause = child(panel, QPushButton, "moePause")
    qtbot.mouseClick(child(panel, QPushButton, "moeStart"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: routing.last is not None, timeout=20_000)
    with qtbot.waitSignal(routing.run.paused, timeout=10_000):
        qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert pause.text() == "Resume"
    with qtbot.waitSignal(routing.run.resumed, timeout=10_000):
        qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: routing.last is not None and routing.last.done, timeout=60_000)
    gumbel, argmax = routing.last.routers["gumbel"], routing.last.routers["argmax"]
    assert gumbel.test_accuracy >= 0.95 and gumbel.experts_used >= 2
    assert argmax.test_accuracy < gumbel.test_accuracy - 0.15
    text = child(panel, QLabel, "moeAccuracy").text()
    assert f"{100 * gumbel.test_accuracy:.1f} %" in text and "done" in text
    np.testing.assert_allclose(routing.load_plot.loads["gumbel"], gumbel.load)
    qtbot.waitUntil(lambda: not routing.is_running(), timeout=10_000)


def test_presentation_mode_grows_plot_fonts_and_pages(main_window, qtbot):
    gumbel = main_window.show_panel("gumbelPanel")
    curves = gumbel.findChild(QWidget, "gumbelCurves")
    small = curves.getPlotItem().getAxis("bottom").style.get("tickFont")
    plot_before = curves.minimumSize()
    main_window.set_presentation(True)
    big = curves.getPlotItem().getAxis("bottom").style.get("tickFont")
    assert big.pointSize() > (small.pointSize() if small is not None else 9)
    # plots keep a larger minimum (the page scrolls rather than squeezing them)
    assert curves.minimumWidth() > plot_before.width() and curves.minimumHeight() > plot_before.height()
    main_window.set_presentation(False)
    assert curves.minimumSize() == plot_before


def test_settings_round_trip(panel, qtbot, app_state, tmp_path):
    from PySide6.QtCore import QSettings
    panel.set_temperature(0.1)
    panel.playground.editor.set_logits(np.array([1.0, -1.0, 0.0, 2.0]))
    settings = QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    other = GumbelPanel(app_state)
    qtbot.addWidget(other, before_close_func=lambda w: w.shutdown())
    other.restore_settings(settings)
    assert other.playground.lam == pytest.approx(0.1)
    np.testing.assert_allclose(other.playground.logits, [1.0, -1.0, 0.0, 2.0])


def test_dragging_a_logit_bar_follows_the_mouse(panel, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication
    bars = panel.findChild(QWidget, "gumbelLogitBars")
    view_box = bars.getPlotItem().vb

    def send(kind, x: float, y: float, buttons) -> None:
        pos = QPointF(bars.mapFromScene(view_box.mapViewToScene(QPointF(x, y))))
        event = QMouseEvent(kind, pos, bars.viewport().mapToGlobal(pos), Qt.MouseButton.LeftButton, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(bars.viewport(), event)

    before = panel.current_sample().copy()
    send(QEvent.Type.MouseButtonPress, 2.0, 1.0, Qt.MouseButton.LeftButton)
    for y in np.linspace(1.0, 4.0, 8):                             # drifting sideways keeps bar 2
        send(QEvent.Type.MouseMove, 2.3, float(y), Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, 2.3, 4.0, Qt.MouseButton.NoButton)
    assert panel.playground.logits[2] == pytest.approx(4.0, abs=0.2)
    np.testing.assert_allclose(panel.playground.logits[:2], lab.NOTES_LOGITS[:2])
    assert panel.findChild(QWidget, "gumbelLogit2").value() == pytest.approx(panel.playground.logits[2], abs=0.01)
    assert not np.allclose(panel.current_sample(), before)


def test_moe_restart_replaces_the_run_cleanly(panel, qtbot):
    routing = panel.findChild(QWidget, "moeRouting")
    start = child(panel, QPushButton, "moeStart")
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: routing.last is not None, timeout=20_000)
    first = routing.run
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)             # Restart while it trains
    assert routing.run is not first and first.is_done
    qtbot.waitUntil(lambda: routing.last is not None and routing.last.done, timeout=60_000)
    steps = [step for step, _, _ in routing.history["gumbel"]]
    assert steps == sorted(steps) and steps[0] == 0                # one run's history, from the start
    qtbot.waitUntil(lambda: not child(panel, QPushButton, "moePause").isEnabled(), timeout=10_000)  # finished
