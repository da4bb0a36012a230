"""The main window: panels, model bar (Open / Save as / New), menus and shortcuts, settings."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from explorer.core.bundle import load_bundle
from explorer.core.paths import default_bundle_path
from explorer.ui.panels import PANELS, panel_names
from explorer.ui.state import snapshot

from ui_helpers import click_in_dialog, editor, set_number, visible_dialog

PANEL_NAMES = ["trainPanel", "codebookPanel", "latentEditor", "samplingPanel", "gumbelPanel", "likelihoodPanel",
               "quantizerLab"]


def save_tiny(qtbot, window, folder) -> None:
    """Save the loaded bundle through the model bar's Save as button (the dialog is patched)."""
    with qtbot.waitSignal(window.model_bar.bundle_saved, timeout=20_000):
        qtbot.mouseClick(window.model_bar.findChild(QWidget, "saveAsButton"), Qt.MouseButton.LeftButton)


# ---------------------------------------------------------------------- opening
def test_window_opens_with_a_tiny_bundle_and_shows_its_size(main_window):
    assert main_window.objectName() == "mainWindow" and main_window.accessibleName()
    info = main_window.model_bar.info_label.text()
    assert "K = 16" in info and "D = 4" in info and "grid 7×7" in info
    assert "tiny" in main_window.model_bar.name_label.text()
    assert "unsaved" in main_window.model_bar.name_label.text()       # it has no folder yet
    assert "cpu" in main_window.device_status.text()
    assert "cpu" in main_window.model_bar.device_label.text()
    assert not main_window.gpu_memory_status.isVisible()               # only on CUDA


def test_window_opens_with_the_shipped_model(qtbot):
    path = default_bundle_path()
    if path is None:
        pytest.skip("trained_models/mnist is not there yet")
    from explorer.ui import MainWindow
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.state.bundle_changed, timeout=30_000):
        window.open_bundle(path)
    cfg = window.state.bundle.vqvae.config
    info = window.model_bar.info_label.text()
    assert f"K = {cfg.num_codes}" in info and f"D = {cfg.code_dim}" in info
    assert f"grid {cfg.grid_size}×{cfg.grid_size}" in info
    assert not window.model_bar.unsaved
    for name in PANEL_NAMES:
        assert window.show_panel(name).isVisible()
    window.show_panel("trainPanel")
    assert window.train_panel.plots.preview.has_image() == (window.state.bundle.examples is not None)


def test_show_panel_and_ctrl_number_switch_between_the_six_panels(qtbot, main_window):
    assert panel_names() == PANEL_NAMES
    for name in PANEL_NAMES:
        panel = main_window.show_panel(name)
        assert main_window.tabs.currentWidget() is panel and panel.objectName() == name
    for i, name in enumerate(PANEL_NAMES, start=1):
        qtbot.keyClick(main_window, getattr(Qt.Key, f"Key_{i}"), Qt.KeyboardModifier.ControlModifier)
        assert main_window.current_panel().objectName() == name
        assert main_window.panel_actions[name].isChecked()
    with pytest.raises(KeyError):
        main_window.show_panel("noSuchPanel")


def test_every_panel_has_names_title_and_help(main_window):
    for spec in PANELS:
        panel = main_window.panels[spec.object_name]
        assert panel.objectName() == spec.object_name and panel.accessibleName()
        assert isinstance(type(panel).title, str) and isinstance(type(panel).help_text, str)
    train = main_window.train_panel
    for name in ("startButton", "pauseButton", "stopButton", "trainProgress", "deviceCombo", "trainModeCombo",
                 "lossPlot", "codesPlot", "usageHistogram", "reconstructionPreview", "priorNllPlot",
                 "data_root", "vqvaeModel_num_codes", "vqvaeTraining_lr", "priorModel_layers"):
        widget = train.findChild(QWidget, name)
        assert widget is not None and widget.accessibleName(), name
    for name in ("openButton", "saveAsButton", "newButton", "modelInfoLabel"):
        assert main_window.model_bar.findChild(QWidget, name).accessibleName()


def test_device_selector_offers_only_this_machines_devices(main_window):
    from explorer.core.device import available_devices
    combo = main_window.train_panel.controls.device_combo
    assert [combo.itemData(i) for i in range(combo.count())] == available_devices()


# ---------------------------------------------------------------------- model bar
def test_open_a_corrupt_bundle_shows_the_message_and_keeps_the_model(qtbot, main_window, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "good"), ""))
    save_tiny(qtbot, main_window, tmp_path / "good")                   # saved: Open asks nothing
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "config.json").write_text("{ this is not json", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(bad))
    kept = main_window.state.bundle
    qtbot.mouseClick(main_window.model_bar.findChild(QWidget, "openButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visible_dialog("bundleErrorDialog") is not None, timeout=20_000)
    dialog = visible_dialog("bundleErrorDialog")
    assert "not valid JSON" in dialog.text()
    assert main_window.state.bundle is kept and "K = 16" in main_window.model_bar.info_label.text()
    dialog.button(QMessageBox.StandardButton.Ok).click()


def test_open_a_hostile_bundle_shows_a_plain_message_never_python_text(qtbot, main_window, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "good"), ""))
    save_tiny(qtbot, main_window, tmp_path / "good")
    bad = tmp_path / "good"
    cfg = json.loads((bad / "config.json").read_text())
    cfg["weights_dtype"] = []                          # once: "unhashable type: 'list'" in the dialog
    (bad / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(bad))
    kept = main_window.state.bundle
    qtbot.mouseClick(main_window.model_bar.findChild(QWidget, "openButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visible_dialog("bundleErrorDialog") is not None, timeout=20_000)
    dialog = visible_dialog("bundleErrorDialog")
    assert "weights_dtype" in dialog.text() and "unhashable" not in dialog.text()
    assert main_window.state.bundle is kept
    dialog.button(QMessageBox.StandardButton.Ok).click()


def test_load_error_text_hides_python_errors() -> None:
    from explorer.core.bundle import BundleError
    from explorer.ui.model_bar import load_error_text
    assert load_error_text(BundleError("config.json is broken.")) == "config.json is broken."
    text = load_error_text(TypeError("unhashable type: 'list'"))
    assert "unhashable" not in text and "TypeError" in text


def test_open_a_good_bundle_replaces_the_model(qtbot, main_window, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "copy"), ""))
    save_tiny(qtbot, main_window, tmp_path / "copy")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "copy"))
    before = main_window.state.bundle
    with qtbot.waitSignal(main_window.state.bundle_changed, timeout=20_000):
        main_window.model_bar.open_action.trigger()
    assert main_window.state.bundle is not before
    assert main_window.state.path == (tmp_path / "copy").resolve()
    assert not main_window.model_bar.unsaved and not main_window.isWindowModified()


def test_save_as_writes_the_bundle_atomically_and_clears_unsaved(qtbot, main_window, tmp_path, monkeypatch):
    target = tmp_path / "saved"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert main_window.model_bar.unsaved
    save_tiny(qtbot, main_window, target)
    assert not main_window.model_bar.unsaved and "unsaved" not in main_window.model_bar.name_label.text()
    saved = load_bundle(target)
    original = snapshot(main_window.state.bundle.vqvae)
    assert all(np.array_equal(v, original[k]) for k, v in snapshot(saved.vqvae).items())
    assert saved.prior is not None and not list(tmp_path.glob(".saved.tmp-*"))


def test_new_asks_before_discarding_an_unsaved_model(qtbot, main_window):
    panel = main_window.train_panel
    set_number(panel, "vqvaeModel_num_codes", 12)
    old = main_window.state.bundle
    click_in_dialog("confirmDiscardDialog", button=QMessageBox.StandardButton.Cancel)
    qtbot.keyClick(main_window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert main_window.state.bundle is old
    click_in_dialog("confirmDiscardDialog", button=QMessageBox.StandardButton.Discard)
    qtbot.mouseClick(main_window.model_bar.findChild(QWidget, "newButton"), Qt.MouseButton.LeftButton)
    new = main_window.state.bundle
    assert new is not old and new.vqvae.config.num_codes == 12 and new.prior is None
    assert "K = 12" in main_window.model_bar.info_label.text() and main_window.model_bar.unsaved


# ---------------------------------------------------------------------- quitting with unsaved work
def _train_a_little(window) -> None:
    """What a training snapshot does to the shown model: new weights, not saved anywhere."""
    weights = {k: v + 0.01 if v.dtype.kind == "f" else v for k, v in snapshot(window.state.bundle.vqvae).items()}
    window.state.apply_snapshot("vqvae", weights)
    assert window.model_bar.modified and window.isWindowModified()


def test_quit_after_training_cancel_keeps_the_window(qtbot, main_window):
    _train_a_little(main_window)
    click_in_dialog("unsavedChangesDialog", "cancelButton")
    qtbot.keyClick(main_window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)      # Ctrl+Q
    assert main_window.isVisible() and main_window.model_bar.modified
    click_in_dialog("unsavedChangesDialog", "cancelButton")
    assert not main_window.close()                                                   # the close button
    assert main_window.isVisible()


def test_quit_after_training_discard_closes(qtbot, main_window):
    _train_a_little(main_window)
    click_in_dialog("unsavedChangesDialog", "discardButton")
    main_window.findChild(QAction, "quitAction").trigger()                           # File > Quit
    assert not main_window.isVisible()


def test_quit_after_training_save_writes_the_bundle_then_closes(qtbot, main_window, tmp_path, monkeypatch):
    target = tmp_path / "trained"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    _train_a_little(main_window)
    trained = snapshot(main_window.state.bundle.vqvae)
    click_in_dialog("unsavedChangesDialog", "saveButton")
    assert main_window.close()
    saved = snapshot(load_bundle(target).vqvae)
    assert all(np.array_equal(v, trained[k]) for k, v in saved.items())


def test_quit_save_cancelled_in_the_file_dialog_keeps_the_window(qtbot, main_window, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    _train_a_little(main_window)
    click_in_dialog("unsavedChangesDialog", "saveButton")
    assert not main_window.close()
    assert main_window.isVisible() and main_window.model_bar.modified


def test_quit_without_changes_does_not_ask(qtbot, main_window):
    assert not main_window.model_bar.modified          # an untouched (even never saved) model
    assert main_window.close()


# ---------------------------------------------------------------------- view
def test_export_image_writes_a_png_of_the_current_panel(qtbot, main_window, tmp_path, monkeypatch):
    target = tmp_path / "codebook"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG images (*.png)"))
    panel = main_window.show_panel("codebookPanel")
    qtbot.keyClick(main_window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    image = QImage(str(target.with_suffix(".png")))
    assert not image.isNull()
    dpr = panel.devicePixelRatioF()
    assert (image.width(), image.height()) == (round(panel.width() * dpr), round(panel.height() * dpr))


def test_presentation_mode_enlarges_fonts_and_lines_and_toggles_back(qtbot, main_window):
    normal_pt = main_window.font().pointSizeF()
    curve = main_window.train_panel.plots.loss_plot.curves["recon_loss"]
    normal_width = curve.opts["pen"].widthF()
    qtbot.keyClick(main_window, Qt.Key.Key_F5)
    assert main_window.presentation_action.isChecked()
    assert main_window.font().pointSizeF() >= normal_pt * 1.4
    assert main_window.train_panel.controls.start_button.font().pointSizeF() >= normal_pt * 1.4
    assert curve.opts["pen"].widthF() > normal_width
    assert main_window.palette().window().color().lightness() < 30                 # dark, high contrast
    qtbot.keyClick(main_window, Qt.Key.Key_F5)
    assert main_window.font().pointSizeF() == normal_pt
    assert curve.opts["pen"].widthF() == normal_width


def test_f1_explains_the_current_panel_with_its_equation(qtbot, main_window):
    main_window.show_panel("trainPanel")
    qtbot.keyClick(main_window, Qt.Key.Key_F1)
    dialog = main_window.help_dialog
    assert dialog is not None and dialog.isVisible() and dialog.objectName() == "helpDialog"
    text = dialog.text.toPlainText()
    assert "sg[z" in text and "β" in text and "Train" in text
    main_window.show_panel("gumbelPanel")
    qtbot.keyClick(main_window, Qt.Key.Key_F1)
    assert "Gumbel" in dialog.text.toPlainText() and "λ" in dialog.text.toPlainText()
    dialog.topic_list.setCurrentRow(dialog.topic_list.count() - 1)                  # the shortcuts page
    shortcuts = dialog.text.toPlainText()
    assert "Ctrl+O" in shortcuts and "F5" in shortcuts and "Ctrl+Shift+S" in shortcuts
    dialog.close()


def test_menus_show_the_shortcuts(main_window):
    keys = dict(main_window.shortcut_list())
    assert keys["Open bundle"] == "Ctrl+O" and keys["Save bundle as"] == "Ctrl+Shift+S"
    assert keys["New model"] == "Ctrl+N" and keys["Presentation mode"] == "F5"
    assert keys["Export image of this panel"] == "Ctrl+E" and keys["Start / pause / resume training"] == "Ctrl+R"
    assert keys["What does this panel show?"] == "F1" and keys["Codebook"] == "Ctrl+2"


# ---------------------------------------------------------------------- settings persist
def test_settings_persist_across_windows(qtbot, tiny_bundle, isolated_settings):
    from explorer.ui import MainWindow
    tiny_bundle.data = {}              # a bundle that says nothing about its data: the form's data stay
    first = MainWindow(bundle=tiny_bundle)
    qtbot.addWidget(first)
    first.show()
    first.resize(1100, 650)
    first.show_panel("codebookPanel")
    set_number(first.train_panel, "vqvaeTraining_max_steps", 321)
    set_number(first.train_panel, "data_limit", 777)
    first.close()
    ini = next(isolated_settings.rglob("*.ini"))
    assert "trainPanel" in ini.read_text()

    second = MainWindow(bundle=tiny_bundle)
    qtbot.addWidget(second)
    second.show()
    # (the offscreen screen is 800 px wide: restoreGeometry clamps the width, not the height)
    assert second.height() == 650
    assert second.current_panel().objectName() == "codebookPanel"
    assert editor(second.train_panel, "vqvaeTraining_max_steps").value() == 321
    assert second.train_panel.settings_model.data.limit == 777


# ---------------------------------------------------------------------- run_app, screenshots
def test_run_app_opens_the_last_bundle_and_quits_cleanly(qtbot, tiny_bundle, tmp_path):
    from explorer.ui.app import run_app, settings_store
    tiny_bundle.save(tmp_path / "last")
    settings_store().setValue("bundle/last", str(tmp_path / "last"))
    seen: dict = {}
    earlier = QApplication.topLevelWidgets()        # strong references: wrappers stay the same objects

    def close_when_loaded() -> None:
        window = next((w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow"
                       and w.isVisible() and not any(w is e for e in earlier)), None)
        if window is None or window.state.bundle is None:
            QTimer.singleShot(50, close_when_loaded)
            return
        seen["name"], seen["info"] = window.state.bundle.name, window.model_bar.info_label.text()
        window.close()

    QTimer.singleShot(0, close_when_loaded)
    assert run_app() == 0
    assert seen["name"] == "tiny" and "K = 16" in seen["info"]


def test_render_panel_writes_a_screenshot(qtbot, tiny_bundle, tmp_path):
    from explorer.ui.screenshot import render_panel
    tiny_bundle.save(tmp_path / "bundle")
    out = render_panel("trainPanel", tmp_path / "shots" / "train.png", bundle_path=str(tmp_path / "bundle"),
                       size=(1000, 640))
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 640
    with pytest.raises(ValueError):
        render_panel("nonsense", tmp_path / "x.png", bundle_path=str(tmp_path / "bundle"))


def test_settings_file_holds_the_training_form_as_json(qtbot, main_window, isolated_settings):
    set_number(main_window.train_panel, "vqvaeTraining_batch_size", 48)
    main_window.save_settings()
    from explorer.ui.app import settings_store
    stored = json.loads(settings_store().value("panels/trainPanel/settings"))
    assert stored["vqvae"]["batch_size"] == 48


def test_gpu_memory_appears_in_the_status_bar_on_cuda(main_window, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda *a: 300 * 2**20)
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda *a: 512 * 2**20)
    main_window.refresh_gpu_memory()
    assert main_window.gpu_memory_status.text() == "GPU memory: 300 MiB allocated, 512 MiB reserved"


def test_torch_warm_up_leaves_the_random_state_alone():
    import torch
    from explorer.ui.workers.warmup import warm_up_torch
    before = torch.random.get_rng_state()
    assert warm_up_torch() > 0
    assert torch.equal(before, torch.random.get_rng_state())


def test_showing_a_panel_moves_keyboard_focus_into_it(qtbot, main_window) -> None:
    """Ctrl+4 then Space must play the sampler, not press the model-bar button that had focus."""
    main_window.activateWindow()
    main_window.model_bar.findChild(QWidget, "openButton").setFocus()
    main_window.findChild(QAction, "show_samplingPanel").trigger()
    panel = main_window.panels["samplingPanel"]
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and (QApplication.focusWidget() is panel or panel.isAncestorOf(QApplication.focusWidget())))
