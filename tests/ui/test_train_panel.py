"""The training panel, driven as a user would: fill in the form, press Start/Pause/Stop, read plots."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QMessageBox, QWidget

from explorer.core.bundle import load_bundle
from explorer.ui.state import snapshot
from explorer.ui.train import training_job
from explorer.ui.train.training_job import Snapshot
from ui_helpers import (click_in_dialog, configure_short_run, editor, set_number, start_long_run, steps_seen,
                        type_text, visible_dialog, weights_equal)


# ---------------------------------------------------------------------- the form
def test_form_is_generated_from_the_configs_and_binds_both_ways(qtbot, main_window):
    panel = main_window.show_panel("trainPanel")
    num_codes = editor(panel, "vqvaeModel_num_codes")
    assert num_codes.value() == 16                      # shows the loaded model's K
    assert "K, codebook size" in num_codes.toolTip()    # tooltip from the dataclass comment
    assert isinstance(editor(panel, "vqvaeModel_quantizer"), QComboBox)
    assert editor(panel, "vqvaeModel_ema").isChecked()
    assert panel.findChild(QWidget, "priorModel_num_codes") is None   # derived from the VQ-VAE

    num_codes.setValue(32)                              # widget -> config
    assert panel.settings_model.vqvae.model.num_codes == 32
    assert "new VQ-VAE" in panel.controls.plan_label.text()
    quantizer = editor(panel, "vqvaeModel_quantizer")
    quantizer.setCurrentIndex(quantizer.findData("gumbel"))
    assert panel.settings_model.vqvae.model.quantizer == "gumbel"

    classes = editor(panel, "data_classes")
    type_text(qtbot, classes, "1-4")
    assert panel.settings_model.data.classes == (1, 2, 3, 4)
    type_text(qtbot, classes, "4-1")                   # refused: stays (1..4), marked red with the reason
    assert panel.settings_model.data.classes == (1, 2, 3, 4)
    assert "backwards" in classes.property("invalidReason")

    settings = panel.settings_model                     # config -> widgets
    settings.vqvae.lr = 5e-4
    panel.form.set_settings(settings)
    assert editor(panel, "vqvaeTraining_lr").text() == "0.0005"


# ---------------------------------------------------------------------- a short run
def test_short_training_run_updates_progress_plots_and_the_shared_model(qtbot, main_window, mnist_root,
                                                                        monkeypatch):
    # The run waits after step 5 until the test has seen the plots part-way: on a loaded machine the
    # worker can otherwise finish all 30 steps before the GUI thread draws once.
    release = threading.Event()
    real_train = training_job.train_vqvae

    def held_after_step_5(*args, **kwargs):
        for record in real_train(*args, **kwargs):
            yield record
            if record.step == 5:
                release.wait(60)

    monkeypatch.setattr(training_job, "train_vqvae", held_after_step_5)
    panel = main_window.show_panel("trainPanel")
    state = main_window.state
    configure_short_run(qtbot, panel, mnist_root, steps=30, val_every=10)
    panel.snapshot_every = 5
    before = snapshot(state.bundle.vqvae)
    updates: list[str] = []
    state.weights_updated.connect(updates.append)

    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    assert panel.is_running and not panel.controls.start_button.isEnabled()
    assert not main_window.model_bar.open_action.isEnabled()          # no Open while training
    loss = panel.plots.loss_plot
    qtbot.waitUntil(lambda: loss.curve_length("recon_loss") >= 3, timeout=30_000)
    early_length, early_value = loss.curve_length("recon_loss"), panel.controls.progress.value()
    release.set()
    qtbot.waitUntil(lambda: not panel.is_running, timeout=60_000)

    assert loss.curve_length("recon_loss") == 30 > early_length
    assert panel.plots.codes_plot.curve_length("perplexity") == 30
    assert loss.curve_length("val_mse") == 3                          # steps 10, 20, 30
    assert panel.controls.progress.value() == 30 > early_value
    assert panel.plots.usage_histogram.bar_count() == 16              # K bars
    assert panel.plots.preview.has_image() and panel.plots.preview.step == 30
    assert "finished" in panel.controls.status_label.text()
    # The other panels saw the model train, and the bundle holds the trained weights, unsaved.
    assert "vqvae" in updates
    assert not weights_equal(before, snapshot(state.bundle.vqvae))
    assert state.bundle.history["vqvae_training"]["steps"] == 30
    assert main_window.model_bar.unsaved and main_window.isWindowModified()
    assert main_window.model_bar.open_action.isEnabled()


def test_new_architecture_gives_a_new_bundle_and_drops_the_prior(qtbot, main_window, mnist_root):
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=6)
    set_number(panel, "vqvaeModel_num_codes", 8)
    old = main_window.state.bundle
    assert old.prior is not None
    click_in_dialog("confirmDiscardDialog", button=QMessageBox.StandardButton.Discard)   # tiny is unsaved
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=60_000)
    bundle = main_window.state.bundle
    assert bundle is not old and bundle.vqvae.config.num_codes == 8 and bundle.prior is None
    assert panel.plots.usage_histogram.bar_count() == 8
    assert "K = 8" in main_window.model_bar.info_label.text()


def test_cancelling_the_discard_question_starts_nothing(qtbot, main_window):
    panel = main_window.show_panel("trainPanel")
    set_number(panel, "vqvaeModel_num_codes", 8)
    click_in_dialog("confirmDiscardDialog", button=QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    assert not panel.is_running and main_window.state.bundle.vqvae.config.num_codes == 16


def test_start_asks_before_a_new_prior_replaces_the_unsaved_one(qtbot, main_window):
    panel = main_window.show_panel("trainPanel")
    mode = panel.controls.mode_combo
    mode.setCurrentIndex(mode.findData("prior"))
    set_number(panel, "priorModel_layers", 3)                    # another architecture: a new prior
    assert "trains a new gated PixelCNN prior" in panel.controls.plan_label.text()
    prior = main_window.state.bundle.prior
    click_in_dialog("confirmDiscardDialog", button=QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    assert not panel.is_running and main_window.state.bundle.prior is prior


def test_step_axis_fits_the_run_so_far_not_the_whole_run(qtbot, main_window, mnist_root):
    panel = main_window.show_panel("trainPanel")
    start_long_run(qtbot, panel, mnist_root, steps_before=3)          # 100 000 steps planned
    loss = panel.plots.loss_plot
    qtbot.waitUntil(lambda: loss.curve_length("recon_loss") >= 3, timeout=30_000)
    shown_to = loss.getPlotItem().viewRange()[0][1]
    newest = loss.curves["recon_loss"].getData()[0][-1]
    assert newest <= shown_to < 100                                   # not squashed into the left 0.1 %
    assert panel.finish_now(keep=False)


# ---------------------------------------------------------------------- pause, resume, stop
def test_pause_resume_and_stop_act_within_a_step(qtbot, main_window, mnist_root):
    panel = main_window.show_panel("trainPanel")
    start_long_run(qtbot, panel, mnist_root, steps_before=3)

    with qtbot.waitSignal(panel.run.paused, timeout=5_000):
        qtbot.mouseClick(panel.controls.pause_button, Qt.MouseButton.LeftButton)
    assert panel.controls.pause_button.text() == "Resume"
    qtbot.wait(50)                                   # deliver the steps finished before the pause
    paused_at = steps_seen(panel)
    qtbot.wait(600)
    assert steps_seen(panel) == paused_at            # nothing advances while paused

    qtbot.mouseClick(panel.controls.pause_button, Qt.MouseButton.LeftButton)    # Resume
    qtbot.waitUntil(lambda: steps_seen(panel) >= paused_at + 3, timeout=30_000)
    assert panel.controls.pause_button.text() == "Pause"

    clicked_at = steps_seen(panel)
    qtbot.mouseClick(panel.controls.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=5_000)
    final = main_window.state.bundle.history["vqvae_training"]
    assert final["stopped_early"] and final["steps"] <= clicked_at + 3
    assert "stopped" in panel.controls.status_label.text()


def test_stop_while_paused_does_no_further_step(qtbot, main_window, mnist_root):
    panel = main_window.show_panel("trainPanel")
    start_long_run(qtbot, panel, mnist_root, steps_before=2)
    with qtbot.waitSignal(panel.run.paused, timeout=5_000):
        panel.toggle_pause()
    qtbot.wait(50)
    paused_at = steps_seen(panel)
    qtbot.mouseClick(panel.controls.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=5_000)
    assert main_window.state.bundle.history["vqvae_training"]["steps"] == paused_at


# ---------------------------------------------------------------------- errors keep the last good model
def test_nan_loss_shows_the_error_and_keeps_the_last_good_model(qtbot, main_window, mnist_root):
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=200)
    set_number(panel, "vqvaeTraining_lr", 1e30)
    panel.snapshot_every = 5
    state = main_window.state
    last_good = snapshot(state.bundle.vqvae)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    snapshots: list[dict] = []
    panel.run.event.connect(lambda e: snapshots.append(e.weights) if isinstance(e, Snapshot) else None)
    qtbot.waitUntil(lambda: visible_dialog("trainingErrorDialog") is not None, timeout=60_000)
    dialog = visible_dialog("trainingErrorDialog")
    assert "not finite" in dialog.text() and "learning rate" in dialog.text()
    qtbot.waitUntil(lambda: not panel.is_running, timeout=5_000)
    expected = snapshots[-1] if snapshots else last_good
    kept = snapshot(state.bundle.vqvae)
    assert weights_equal(kept, expected)
    assert all(np.isfinite(v).all() for v in kept.values() if v.dtype.kind == "f")
    dialog.button(QMessageBox.StandardButton.Ok).click()
    assert panel.controls.start_button.isEnabled()


def test_failure_after_snapshots_keeps_exactly_the_last_snapshot(qtbot, main_window, mnist_root, monkeypatch):
    real_train = training_job.train_vqvae

    def fails_at_step_12(*args, **kwargs):
        for record in real_train(*args, **kwargs):
            if record.step == 12:
                raise FloatingPointError("the loss became nan (not finite); training stopped.")
            yield record

    monkeypatch.setattr(training_job, "train_vqvae", fails_at_step_12)
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=50)
    panel.snapshot_every = 5
    initial = snapshot(main_window.state.bundle.vqvae)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    snapshots: list[Snapshot] = []
    panel.run.event.connect(lambda e: snapshots.append(e) if isinstance(e, Snapshot) else None)
    qtbot.waitUntil(lambda: visible_dialog("trainingErrorDialog") is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=5_000)
    assert [s.step for s in snapshots] == [5, 10]
    kept = snapshot(main_window.state.bundle.vqvae)
    assert weights_equal(kept, snapshots[-1].weights) and not weights_equal(kept, initial)
    visible_dialog("trainingErrorDialog").button(QMessageBox.StandardButton.Ok).click()


def _missing_data_dialog(qtbot, panel):
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visible_dialog("missingDataDialog") is not None, timeout=5_000)
    assert not panel.is_running
    return visible_dialog("missingDataDialog")


def test_missing_data_offers_one_dialog_and_cancel_starts_nothing(qtbot, main_window, tmp_path):
    panel = main_window.show_panel("trainPanel")
    type_text(qtbot, editor(panel, "data_root"), str(tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in panel.findChild(QWidget, "dataFolderLabel").text()
    dialog = _missing_data_dialog(qtbot, panel)
    text = dialog.findChild(QWidget, "missingDataMessage").text()
    assert "nowhere" in text and "Download" in text and "--data-root" not in text   # words for a GUI user
    dialog.findChild(QWidget, "cancelButton").click()
    assert not panel.is_running and visible_dialog("missingDataDialog") is None


def test_missing_data_download_shows_progress_then_trains(qtbot, main_window, mnist_root, tmp_path, monkeypatch):
    import shutil
    from explorer.ui.train import data_dialog

    def fake_download(data):                     # what download_dataset does, without the network
        raw = Path(data.root) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        files = sorted(mnist_root.glob("t10k-*"))
        for i, f in enumerate(files):
            shutil.copy(f, raw / f.name)
            yield (i + 1) / len(files), f"Downloading {f.name}"

    monkeypatch.setattr(data_dialog, "download_dataset", fake_download)
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=3)
    type_text(qtbot, editor(panel, "data_root"), str(tmp_path / "fresh"))
    dialog = _missing_data_dialog(qtbot, panel)
    progress = dialog.findChild(QWidget, "downloadProgress")
    seen: list[int] = []
    progress.valueChanged.connect(seen.append)
    dialog.findChild(QWidget, "downloadButton").click()
    qtbot.waitUntil(lambda: panel.is_running or steps_seen(panel) > 0, timeout=30_000)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=60_000)
    assert 500 in seen and steps_seen(panel) == 3 and not dialog.isVisible()


def test_missing_data_choose_folder_then_trains(qtbot, main_window, mnist_root, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(mnist_root))
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=3)
    type_text(qtbot, editor(panel, "data_root"), str(tmp_path / "nowhere"))
    dialog = _missing_data_dialog(qtbot, panel)
    dialog.findChild(QWidget, "chooseFolderButton").click()
    assert panel.settings_model.data.root == str(mnist_root)
    assert editor(panel, "data_root").line.text() == str(mnist_root)
    qtbot.waitUntil(lambda: not panel.is_running and steps_seen(panel) == 3, timeout=60_000)


# ---------------------------------------------------------------------- the prior
def test_train_prior_from_the_same_panel(qtbot, main_window, mnist_root):
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=5)
    set_number(panel, "priorTraining_max_steps", 8)
    set_number(panel, "priorTraining_batch_size", 16)
    set_number(panel, "priorTraining_val_every", 4)
    set_number(panel, "priorTraining_augment_shifts", 0)
    mode = panel.controls.mode_combo
    mode.setCurrentIndex(mode.findData("prior"))
    assert panel.plots.currentWidget().objectName() == "priorPlotsPage"
    assert "continues training the loaded prior" in panel.controls.plan_label.text()
    before = snapshot(main_window.state.bundle.prior)
    progress_texts: list[str] = []
    show_progress = panel.controls.set_progress
    panel.controls.set_progress = lambda step, total, text: (progress_texts.append(text),
                                                             show_progress(step, total, text))
    with qtbot.waitSignal(main_window.state.weights_updated, timeout=60_000,
                          check_params_cb=lambda which: which == "prior"):
        qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=60_000)
    assert panel.plots.prior_nll_plot.curve_length("loss") == 8
    assert panel.plots.prior_nll_plot.curve_length("val_nll") == 2
    assert panel.plots.prior_accuracy_plot.curve_length("val_accuracy") == 2
    assert not weights_equal(before, snapshot(main_window.state.bundle.prior))
    assert main_window.state.bundle.history["prior_training"]["steps"] == 8
    assert any(t.startswith("Encoding the images into code grids") and "(100%)" in t for t in progress_texts)


def test_train_a_transformer_with_class_heads_from_the_form(qtbot, main_window, mnist_root):
    """Kind transformer + class heads in the form: Start trains a new mixture of class heads whose
    class prior pi is the training digits' class frequencies."""
    from explorer.core.models.class_heads import ClassHeadsTransformerPrior
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=5)
    mode = panel.controls.mode_combo
    mode.setCurrentIndex(mode.findData("prior"))
    heads = editor(panel, "priorModel_class_heads")
    assert not heads.isEnabled() and "transformer" in heads.toolTip()      # the gated kind cannot use it
    kind = editor(panel, "priorModel_kind")
    kind.setCurrentIndex(kind.findData("transformer"))
    assert heads.isEnabled()
    for name, value in (("priorModel_class_heads", 10), ("priorModel_channels", 16), ("priorModel_layers", 1),
                        ("priorModel_heads", 2), ("priorTraining_label_weight", 0.5), ("priorTraining_max_steps", 6),
                        ("priorTraining_batch_size", 16), ("priorTraining_val_every", 3),
                        ("priorTraining_augment_shifts", 0)):
        set_number(panel, name, value)
    assert panel.settings_model.prior.label_weight == 0.5
    assert "new transformer prior with 10 class heads" in panel.controls.plan_label.text()
    click_in_dialog("confirmDiscardDialog", button=QMessageBox.StandardButton.Discard)   # the tiny bundle is unsaved
    with qtbot.waitSignal(main_window.state.weights_updated, timeout=60_000,
                          check_params_cb=lambda which: which == "prior"):
        qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=60_000)
    prior = main_window.state.bundle.prior
    assert isinstance(prior, ClassHeadsTransformerPrior) and prior.config.class_heads == 10
    from explorer.core.data import DataConfig, load_data
    train = load_data(DataConfig(name="mnist", root=str(mnist_root), limit=600, holdout_last=100)).train
    counts = np.bincount(train.labels.numpy(), minlength=10)
    np.testing.assert_allclose(prior.log_pi().exp().numpy(), counts / counts.sum(), atol=1e-6)
    assert panel.plots.prior_nll_plot.curve_length("val_nll") == 2


# ---------------------------------------------------------------------- closing during training
def _start_long_run(qtbot, window, mnist_root) -> None:
    panel = window.show_panel("trainPanel")
    start_long_run(qtbot, panel, mnist_root, steps_before=2)


def test_close_during_training_cancel_keeps_training(qtbot, main_window, mnist_root):
    _start_long_run(qtbot, main_window, mnist_root)
    click_in_dialog("closeDuringTrainingDialog", "cancelButton")
    assert not main_window.close()
    assert main_window.isVisible() and main_window.train_panel.is_running
    seen = steps_seen(main_window.train_panel)
    qtbot.waitUntil(lambda: steps_seen(main_window.train_panel) > seen, timeout=30_000)


def test_close_during_training_discard_closes_cleanly(qtbot, main_window, mnist_root):
    _start_long_run(qtbot, main_window, mnist_root)
    click_in_dialog("closeDuringTrainingDialog", "discardButton")
    assert main_window.close()
    assert not main_window.isVisible() and not main_window.train_panel.is_running
    # (the autouse fixture fails the test if any worker thread is still running)


def test_close_during_training_stop_and_save(qtbot, main_window, mnist_root, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    target = tmp_path / "saved-on-close"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    _start_long_run(qtbot, main_window, mnist_root)
    click_in_dialog("closeDuringTrainingDialog", "stopAndSaveButton")
    assert main_window.close()
    assert not main_window.train_panel.is_running
    saved = load_bundle(target)
    assert saved.history["vqvae_training"]["stopped_early"]
    assert weights_equal(snapshot(saved.vqvae), snapshot(main_window.state.bundle.vqvae))


def test_cuda_out_of_memory_becomes_a_plain_message(qtbot, main_window, mnist_root, monkeypatch):
    """torch.OutOfMemoryError is a RuntimeError, which superqt's worker would swallow silently."""
    import torch

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        yield  # a generator, like the real one

    monkeypatch.setattr(training_job, "train_vqvae", out_of_memory)
    panel = main_window.show_panel("trainPanel")
    configure_short_run(qtbot, panel, mnist_root, steps=10)
    kept = snapshot(main_window.state.bundle.vqvae)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visible_dialog("trainingErrorDialog") is not None, timeout=30_000)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=5_000)
    dialog = visible_dialog("trainingErrorDialog")
    assert "GPU ran out of memory" in dialog.text() and "batch size" in dialog.text()
    assert weights_equal(kept, snapshot(main_window.state.bundle.vqvae))
    dialog.button(QMessageBox.StandardButton.Ok).click()


# ---------------------------------------------------------------------- the shipped model
def test_start_on_the_shipped_model_fine_tunes_and_saving_never_overwrites_it(qtbot, main_window, monkeypatch,
                                                                             mnist_root):
    from PySide6.QtWidgets import QFileDialog
    from explorer.core.paths import default_bundle_path
    from explorer.ui.train.outcome import make_job

    shipped = default_bundle_path()
    if shipped is None:
        import pytest
        pytest.skip("no shipped bundle")
    with qtbot.waitSignal(main_window.model_bar.bundle_opened, timeout=30_000):
        main_window.open_bundle(shipped)
    panel = main_window.show_panel("trainPanel")
    s = panel.settings_model
    assert "fine-tuning at learning rate 0.0001" in panel.controls.plan_label.text()
    assert make_job(s, main_window.state.bundle).vqvae_train.lr == s.vqvae.lr * s.vqvae.final_lr_ratio
    type_text(qtbot, editor(panel, "data_root"), str(mnist_root))      # 9 000 training digits
    set_number(panel, "vqvaeTraining_epochs", 40)
    steps = 40 * 9000 // 128 + 1
    assert f"Length: {steps // 1000} {steps % 1000:03d} steps, about 9 min" in panel.controls.plan_label.text()
    mode = panel.controls.mode_combo
    mode.setCurrentIndex(mode.findData("prior"))
    plan = panel.controls.plan_label.text()
    kind = main_window.state.bundle.prior.config.describe()    # since 7 Dec 2026 "transformer with 10 class heads"
    assert f"continues training the loaded prior ({kind})" in plan and "fine-tuning" in plan

    suggested: list[str] = []

    def save_dialog(parent, caption, start):
        suggested.append(start)
        return str(shipped), ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    main_window.model_bar.set_unsaved(True)
    before = (shipped / "vqvae.safetensors").stat().st_mtime_ns
    qtbot.mouseClick(main_window.model_bar.findChild(QWidget, "saveAsButton"), Qt.MouseButton.LeftButton)
    assert visible_dialog("readOnlyBundleDialog") is not None
    visible_dialog("readOnlyBundleDialog").button(QMessageBox.StandardButton.Ok).click()
    assert (shipped / "vqvae.safetensors").stat().st_mtime_ns == before
    assert Path(suggested[0]).resolve() != shipped.resolve()


def test_a_new_prior_follows_the_form_not_the_loaded_ensemble(tiny_bundle, mnist_root):
    import dataclasses
    from explorer.core.models.prior import PriorConfig, build_prior
    from explorer.ui.train.outcome import make_job, plan_text
    from explorer.ui.train.settings import TrainSettings
    from explorer.ui.train.training_job import ModelCreated, run_training

    tiny_bundle.prior = build_prior(dataclasses.replace(tiny_bundle.prior.config, members=2))
    s = TrainSettings(mode="prior", continue_training=False)
    s.data = dataclasses.replace(s.data, root=str(mnist_root), limit=200, holdout_last=50)
    s.prior = dataclasses.replace(s.prior, model=dataclasses.replace(tiny_bundle.prior.config, layers=1),
                                  max_steps=1, batch_size=8, augment_shifts=0)
    assert "new gated PixelCNN prior" in plan_text(s, tiny_bundle)
    events = run_training(make_job(s, tiny_bundle))
    created = next(e for e in events if isinstance(e, ModelCreated))
    events.close()
    assert created.config.members == 1 and created.config.layers == 1
