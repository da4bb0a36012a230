"""The Quantizer lab panel driven through its widgets: Start -> steps -> table; Pause/Stop; open and save a row."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from explorer.core.bundle import load_bundle


@pytest.fixture
def lab(main_window, mnist_root):
    """The lab panel of a main window whose bundle's data are 600 MNIST digits (100 held out)."""
    panel = main_window.panels["quantizerLab"]
    main_window.show_panel("quantizerLab")
    assert panel.controls.data_root.text() == str(mnist_root)    # the loaded model's data folder is offered
    panel.controls.set_methods(("vq", "fsq"))
    panel.controls.set_codebook_size(16)
    yield panel
    panel.shutdown()


def _finished(panel) -> bool:
    """Results shown and the run's queued ``finished`` delivered (is_running turns False from the worker
    thread itself, a moment before the GUI thread hears of it and enables Start: on a loaded machine the
    test saw that moment)."""
    return panel.results.table.rowCount() > 0 and not panel.is_running and panel.controls.start_button.isEnabled()


def test_start_trains_every_method_and_fills_the_table(lab, qtbot) -> None:
    lab.controls.steps.setValue(10)
    hint = lab.cards.placeholder
    assert hint.isVisible() and "press Start" in hint.text()           # the empty cards area says what to do
    qtbot.mouseClick(lab.controls.start_button, Qt.MouseButton.LeftButton)
    assert lab.is_running and not lab.controls.start_button.isEnabled()
    assert not hint.isVisible() and set(lab.cards.cards) == {"vq", "fsq"}
    qtbot.waitUntil(lambda: _finished(lab), timeout=120_000)
    table = lab.results.table
    assert table.objectName() == "quantizerLabTable"
    assert [table.item(r, 0).toolTip() for r in range(table.rowCount())] == ["vq", "fsq"]
    assert all(table.item(r, 1).text() for r in range(2))
    assert lab.curves.steps[-1] == 10 and len(lab.curves.data["fsq"]["perplexity"]) == 10
    assert lab.cards.cards["vq"].snapshot is not None                 # histogram and map drawn
    assert lab.controls.start_button.isEnabled()


def test_pause_resume_and_stop(lab, qtbot) -> None:
    lab.controls.steps.setValue(5000)
    lab.start()
    qtbot.waitUntil(lambda: len(lab.curves.steps) >= 1, timeout=60_000)
    with qtbot.waitSignal(lab.run.paused, timeout=20_000):
        qtbot.mouseClick(lab.controls.pause_button, Qt.MouseButton.LeftButton)
    assert lab.controls.pause_button.text() == "Resume" and lab.run.is_paused
    assert not lab.controls.methods.isEnabled()                     # settings stay locked while a run exists
    with qtbot.waitSignal(lab.run.resumed, timeout=20_000):
        qtbot.mouseClick(lab.controls.pause_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(lab.controls.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _finished(lab), timeout=60_000)
    assert lab.last_step.stopped and lab.last_step.step < 5000
    assert lab.results.table.rowCount() == 2


def test_a_row_opens_in_the_main_window_and_saves_as_a_bundle(lab, main_window, qtbot, tmp_path: Path) -> None:
    lab.controls.steps.setValue(10)
    lab.start()
    qtbot.waitUntil(lambda: _finished(lab), timeout=120_000)
    main_window.model_bar.set_unsaved(False)                       # nothing to lose: no question asked
    lab.results.table.selectRow(1)
    with qtbot.waitSignal(main_window.state.bundle_changed, timeout=5_000):
        qtbot.mouseClick(lab.results.open_button, Qt.MouseButton.LeftButton)
    bundle = main_window.state.bundle
    assert bundle.vqvae.config.quantizer == "fsq" and bundle.vqvae.config.num_codes == 16
    assert main_window.state.path is None and main_window.model_bar.unsaved
    assert bundle.vqvae is not lab.models["fsq"]                    # a copy: the lab keeps its own
    worker = lab.save_row(0, tmp_path / "vq-bundle")
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        pass
    saved = load_bundle(tmp_path / "vq-bundle")
    assert saved.vqvae.config.quantizer == "vq" and saved.history["source"] == "quantizer lab"
    assert saved.metrics["codes_used_count"] == lab.result_rows[0].codes_used


def test_fewer_than_two_methods_is_refused_with_a_message(lab) -> None:
    lab.controls.set_methods(("vq",))
    assert not lab.start()
    assert "2 to 8" in lab.controls.status.text()


def test_presets_check_their_methods(lab) -> None:
    lab.controls.preset.setCurrentText("VQ vs FSQ")
    assert lab.controls.chosen_methods() == ("vq", "ema-kmeans-restarts", "fsq")
    item = lab.controls.methods.item(0)
    item.setCheckState(Qt.CheckState.Unchecked if item.checkState() == Qt.CheckState.Checked
                       else Qt.CheckState.Checked)
    assert lab.controls.preset.currentText() == "Custom"


def test_the_train_form_offers_every_quantizer_kind(main_window) -> None:
    from ui_helpers import editor

    from explorer.core.models.quantizers_extra import QUANTIZER_KINDS
    panel = main_window.show_panel("trainPanel")
    combo = editor(panel, "vqvaeModel_quantizer")
    assert [combo.itemData(i) for i in range(combo.count())] == list(QUANTIZER_KINDS)
    combo.setCurrentIndex(combo.findData("rotation"))
    assert panel.settings_model.vqvae.model.quantizer == "rotation"


def test_every_curve_is_drawn_when_steps_arrive_faster_than_redraws(qtbot) -> None:
    """Regression: each redraw tick took the first plot with new data, so with a new step before every
    tick the codes-used and dead-codes plots were never drawn (empty in a real run)."""
    from explorer.core.quantizer_lab import MethodMetrics
    from explorer.ui.quantizer_lab.curves import LabCurves
    curves = LabCurves()
    qtbot.addWidget(curves)
    curves.reset(("vq", "fsq"), total_steps=20)
    for step in range(1, 9):                     # one new step between any two redraws
        curves.append(step, [MethodMetrics(name, 0.01, 5.0, 12, 3, 0.1) for name in ("vq", "fsq")])
        curves.draw_next()
    for key, by_method in curves.curves.items():
        for name, item in by_method.items():
            x, _ = item.getData()
            assert x is not None and len(x) > 0, f"{key} of {name} never drawn"
