"""The Sampling panel driven as a user: Step, Step back, Play/Pause, Run to end, the causal
view's toggle, the gallery, teacher forcing, export and the keyboard."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from explorer.core.models.prior import PriorConfig, build_prior
from explorer.ui.sampling.controls import SPEEDS, TEMPERATURES
from explorer.ui.sampling.panel import SamplingPanel
from explorer.ui.state import AppState
from conftest import TINY_PRIOR, make_tiny_bundle
from ui_helpers import show_sized

NAMES = ("samplingPanel", "samplingGrid", "samplingDistribution", "samplingDecoded", "samplingReceptiveField",
         "samplingLogLikelihood", "samplingCost", "samplingTeacherForcing", "samplingGallery", "samplingPlay",
         "samplingStep", "samplingStepBack", "samplingReset", "samplingRunToEnd", "samplingSpeed",
         "samplingTemperature", "samplingTopK", "samplingGreedy", "samplingSeed", "samplingClass",
         "samplingExportGif")


def make_panel(qtbot, bundle) -> SamplingPanel:
    panel = show_sized(qtbot, SamplingPanel(AppState(bundle)), 1280, 760)
    wait_idle(qtbot, panel)
    return panel


def wait_idle(qtbot, panel) -> None:
    """Until the receptive fields, the cost and the gallery have arrived."""
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.receptive.fields and panel.cost.cost is not None
                    and panel.gallery_grids is not None, timeout=20_000)


@pytest.fixture
def panel(qtbot, tiny_bundle):
    return make_panel(qtbot, tiny_bundle)


def click(qtbot, panel, name: str) -> None:
    qtbot.mouseClick(panel.findChild(QWidget, name), Qt.LeftButton)


def expected_grid(prior, settings: dict) -> np.ndarray:
    generator = torch.Generator().manual_seed(settings["seed"])
    return prior.sample(settings["n"], temperature=settings["temperature"], top_k=settings["top_k"],
                        labels=settings["label"], generator=generator)[settings["index"]].numpy()


def test_names_and_accessible_names(panel) -> None:
    for name in NAMES:
        widget = panel if name == "samplingPanel" else panel.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name
    assert "same grid as" in panel.reproduce.text() and "manual_seed(0)" in panel.reproduce.text()


def test_cost_is_measured_for_one_grid_and_for_a_batch_of_16(qtbot, tiny_bundle, monkeypatch) -> None:
    from explorer.ui.sampling import cost_view
    # Whether the batch is measured depends on how fast the machine ran one grid: on a CI
    # machine the tiny prior's naive grid once took 0.36 s, over the budget. Every prior is fast here.
    monkeypatch.setattr(cost_view, "BATCH_BUDGET_S", float("inf"))
    panel = make_panel(qtbot, tiny_bundle)
    one, batch = panel.cost.cost, panel.cost.batch_cost
    assert one.n == 1 and batch is not None and batch.n == 16
    assert batch.naive_grid_s > 0 and batch.fast_grid_s > 0
    table = panel.findChild(QWidget, "samplingCostText").text()
    assert "a batch of 16 grids" in table and f"{batch.speedup:.1f}×" in table
    assert f"{one.speedup:.1f}× slower; {batch.speedup:.0f}× for 16 grids" in panel.cost_line.text()


def test_a_slow_priors_batch_is_not_measured_and_the_panel_says_so(qtbot, tiny_bundle, monkeypatch) -> None:
    from explorer.ui.sampling import cost_view
    monkeypatch.setattr(cost_view, "BATCH_BUDGET_S", 0.0)             # every prior counts as slow
    panel = make_panel(qtbot, tiny_bundle)
    assert panel.cost.batch_cost is None and panel.cost.cost.n == 1
    assert "A batch of 16 is not measured for this prior" in panel.findChild(QWidget, "samplingCostText").text()
    assert f"({panel.cost.cost.speedup:.1f}× slower)" in panel.cost_line.text()


def test_n_steps_fill_the_first_n_raster_positions_and_step_back_restores_exactly(qtbot, panel) -> None:
    h, w = panel.current_grid().shape
    assert (panel.current_grid() == -1).all()
    states = [(panel.current_grid(), panel.loglik.headline.text(), panel.distribution.probs.copy(),
               panel.decoded_view.image.copy())]
    for n in range(1, 10):
        click(qtbot, panel, "samplingStep")
        grid = panel.current_grid()
        np.testing.assert_array_equal(np.flatnonzero(grid.reshape(-1) >= 0), np.arange(n))
        assert panel.grid_view.active_cell == divmod(n - 1, w)
        np.testing.assert_array_equal(panel.grid_view.codes, grid)
        states.append((grid, panel.loglik.headline.text(), panel.distribution.probs.copy(),
                       panel.decoded_view.image.copy()))
    for n in range(8, -1, -1):
        click(qtbot, panel, "samplingStepBack")
        grid, headline, probs, image = states[n]
        np.testing.assert_array_equal(panel.current_grid(), grid)
        assert panel.loglik.headline.text() == headline
        np.testing.assert_array_equal(panel.distribution.probs, probs)
        np.testing.assert_array_equal(panel.decoded_view.image, image)
    assert not panel.findChild(QWidget, "samplingStepBack").isEnabled()
    # forward again: the same random numbers give the same codes
    for n in range(1, 10):
        click(qtbot, panel, "samplingStep")
    np.testing.assert_array_equal(panel.current_grid(), states[9][0])


def test_run_to_end_with_a_fixed_seed_equals_the_core_sampler(qtbot, panel) -> None:
    panel.findChild(QWidget, "samplingSeed").setValue(1234)
    panel.controls.temperature.setValue(TEMPERATURES.index(0.7))
    panel.controls.top_k.setValue(6)
    panel.controls.index.setValue(3)
    click(qtbot, panel, "samplingRunToEnd")
    settings = panel.sampling_settings()
    assert settings == dict(temperature=0.7, top_k=6, greedy=False, seed=1234, label=None, n=16, index=3)
    grid = panel.current_grid()
    assert (grid >= 0).all()
    np.testing.assert_array_equal(grid, expected_grid(panel.state.bundle.prior, settings))
    # the log-likelihood shown is the model's log p of the finished grid
    with torch.no_grad():
        log_p = float(panel.state.bundle.prior.log_prob(torch.from_numpy(grid)[None])[0])
    assert f"{log_p:.2f} nats" in panel.loglik.headline.text()
    # greedy: temperature 0
    click(qtbot, panel, "samplingGreedy")
    click(qtbot, panel, "samplingRunToEnd")
    settings = panel.sampling_settings()
    assert settings["greedy"] and settings["temperature"] == 0.0
    np.testing.assert_array_equal(panel.current_grid(), expected_grid(panel.state.bundle.prior, settings))
    # the gallery holds the same batch, the animated grid outlined
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=10_000)
    np.testing.assert_array_equal(panel.gallery_grids[3], panel.current_grid())
    assert panel.gallery.outlined == 3


def test_pause_during_play_stops_within_one_tick(qtbot, panel) -> None:
    panel.controls.speed.setValue(SPEEDS.index(0))          # as fast as the machine goes
    panel.controls.batch.setValue(1)
    click(qtbot, panel, "samplingPlay")
    assert panel.playing and panel.controls.play.text().endswith("Pause")
    qtbot.waitUntil(lambda: panel.session.t >= 3, timeout=5_000)
    click(qtbot, panel, "samplingPlay")
    stopped_at = panel.session.t
    assert not panel.playing and not panel._timer.isActive()
    for _ in range(20):
        QApplication.processEvents()
    assert panel.session.t == stopped_at
    # at 60 steps/s a tick is one step; Play runs on to the end and stops by itself
    panel.controls.speed.setValue(SPEEDS.index(60))
    click(qtbot, panel, "samplingPlay")
    qtbot.waitUntil(lambda: panel.session.finished and not panel.playing, timeout=10_000)


def test_plain_receptive_field_misses_up_right_cells_that_gated_sees(qtbot, panel) -> None:
    for _ in range(25):                                       # step 25 decides position (3, 3)
        click(qtbot, panel, "samplingStep")
    i, j = 3, 3
    panel.tabs.setCurrentWidget(panel.receptive)
    assert panel.receptive.position == (i, j)
    h, w = panel.current_grid().shape
    later_or_current = np.arange(h * w).reshape(h, w) >= i * w + j
    fields = {}
    for kind in ("plain", "gated"):
        click(qtbot, panel.receptive, "samplingField" + kind.capitalize())
        assert panel.receptive.kind == kind
        fields[kind] = panel.receptive.measured()
        assert not (fields[kind] & later_or_current).any()
    up_right = np.zeros((h, w), dtype=bool)
    up_right[:i, j + 1:] = True
    assert (up_right & fields["gated"] & ~fields["plain"]).any()
    assert "blind to" in panel.receptive.note.text()          # the plain one is showing now
    # the first layer (type A) never reads the current cell either
    assert not (panel.receptive.first_fields["plain"][i, j] & later_or_current).any()


def test_gif_export_has_one_frame_per_step(qtbot, panel, tmp_path, monkeypatch) -> None:
    out = tmp_path / "run.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "GIF (*.gif)"))
    click(qtbot, panel, "samplingStep")
    click(qtbot, panel, "samplingExportGif")
    with Image.open(out) as gif:
        assert gif.n_frames == panel.session.total == 49
        assert gif.size == (1280, 720)
    assert panel.session.t == 1                               # exporting keeps the current step
    png = tmp_path / "frame.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(png), "PNG (*.png)"))
    click(qtbot, panel, "samplingExportPng")
    with Image.open(png) as frame:
        assert frame.size == (1280, 720)


def test_keyboard_space_right_left_home(qtbot, panel) -> None:
    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=3000)
    panel.controls.speed.setValue(SPEEDS.index(1))            # 1 step/s: Space then Space pauses
    qtbot.keyClick(panel, Qt.Key_Right)
    qtbot.keyClick(panel, Qt.Key_Right)
    assert panel.session.t == 2
    qtbot.keyClick(panel, Qt.Key_Left)
    assert panel.session.t == 1
    qtbot.keyClick(panel, Qt.Key_Space)
    assert panel.playing
    qtbot.keyClick(panel, Qt.Key_Space)
    assert not panel.playing
    qtbot.keyClick(panel, Qt.Key_Home)
    assert panel.session.t == 0 and (panel.current_grid() == -1).all()


def test_class_conditional_prior_samples_the_chosen_class(qtbot) -> None:
    bundle = make_tiny_bundle()
    torch.manual_seed(1)
    bundle.prior = build_prior(PriorConfig(**TINY_PRIOR, num_classes=10)).eval()
    panel = make_panel(qtbot, bundle)
    combo = panel.findChild(QWidget, "samplingClass")
    assert combo.isEnabled() and combo.count() == 10
    combo.setCurrentIndex(7)
    click(qtbot, panel, "samplingRunToEnd")
    settings = panel.sampling_settings()
    assert settings["label"] == 7
    np.testing.assert_array_equal(panel.current_grid(), expected_grid(bundle.prior, settings))
    assert "labels=7" in panel.reproduce.text()


def test_unconditional_prior_has_no_class(panel) -> None:
    assert not panel.findChild(QWidget, "samplingClass").isEnabled()
    assert panel.sampling_settings()["label"] is None


def test_teacher_forcing_click_shows_that_positions_distribution(qtbot, panel) -> None:
    panel.tabs.setCurrentWidget(panel.teacher)
    tf = panel.teacher
    assert tf.result is not None and "1 pass" in tf.summary.text()
    rect = tf.heatmap.cell_rect(4, 2)
    qtbot.mouseClick(tf.heatmap, Qt.LeftButton, pos=QPoint(int(rect.center().x()), int(rect.center().y())))
    np.testing.assert_allclose(tf.histogram_heights(), tf.result.probs[:, 4, 2])
    with torch.no_grad():
        log_p = float(panel.state.bundle.prior.log_prob(torch.from_numpy(tf.codes)[None])[0])
    assert tf.result.log_likelihood == pytest.approx(log_p, rel=1e-5, abs=1e-4)
    tf.example.setValue(3)
    assert tf.heatmap.values.shape == (7, 7) and tf.result is not None


def test_gallery_click_opens_the_grid_in_the_editor(qtbot, main_window) -> None:
    panel = main_window.show_panel("samplingPanel")
    wait_idle(qtbot, panel)
    gallery = panel.gallery
    panel.tabs.setCurrentWidget(gallery)
    assert len(panel.gallery_grids) == panel.sampling_settings()["n"]
    rect = gallery.tile_rect(2)
    qtbot.mouseClick(gallery, Qt.LeftButton, pos=QPoint(int(rect.center().x()), int(rect.center().y())))
    editor = main_window.current_panel()
    assert editor.objectName() == "latentEditor"
    np.testing.assert_array_equal(editor.grid.codes, panel.gallery_grids[2])
    assert "sample 2 of 16" in editor.source.label


def test_presentation_mode_grows_fonts(qtbot, panel) -> None:
    before = panel.font().pointSizeF()
    panel.set_presentation(True)
    assert panel.font().pointSizeF() >= 14 > before or before >= 14
    assert panel.controls.play.font().pointSizeF() >= 14
    panel.set_presentation(False)


def test_changing_a_setting_mid_run_comes_back_to_the_same_step(qtbot, panel) -> None:
    for _ in range(6):
        click(qtbot, panel, "samplingStep")
    panel.findChild(QWidget, "samplingSeed").setValue(77)
    qtbot.waitUntil(lambda: panel.session.t == 6 and panel.views is not None, timeout=10_000)
    settings = panel.sampling_settings()
    assert settings["seed"] == 77
    click(qtbot, panel, "samplingRunToEnd")
    np.testing.assert_array_equal(panel.current_grid(), expected_grid(panel.state.bundle.prior, settings))


def test_new_weights_refresh_the_run_at_the_same_step(qtbot, panel) -> None:
    for _ in range(4):
        click(qtbot, panel, "samplingStep")
    prior = panel.state.bundle.prior
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(0.05 * torch.randn_like(p))
    panel.state.weights_updated.emit("prior")
    qtbot.waitUntil(lambda: not panel._weights_stale, timeout=5_000)
    assert panel.session.t == 4
    click(qtbot, panel, "samplingRunToEnd")
    np.testing.assert_array_equal(panel.current_grid(), expected_grid(prior, panel.sampling_settings()))


def test_teacher_forcing_on_the_validation_set(qtbot, panel, mnist_root) -> None:
    tf = panel.teacher
    qtbot.waitUntil(lambda: panel.teacher_forcing.validation is not None, timeout=20_000)
    tf.source.setCurrentIndex(1)
    assert tf.example.maximum() == len(panel.teacher_forcing.validation) - 1
    tf.example.setValue(5)
    image = panel.teacher_forcing.validation.images[5].numpy().astype(np.float32) / 255
    np.testing.assert_allclose(tf.image.image[..., 0] / 255, image[0], atol=1 / 255)
