"""Train panel: the settings form, Start/Pause/Stop, and live plots of a run in a worker thread.

The worker trains its own copy of the model. Every few steps it sends a numpy snapshot that
is copied into the displayed model (``state.apply_snapshot``), so the other panels show the
model as it trains. Metrics are buffered as they arrive and drawn at most 20 times a second.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

import torch
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QMessageBox, QSplitter, QVBoxLayout, QWidget

from explorer.core.data import DataConfig, count_training_images, missing_data_message, usable_root
from explorer.core.device import pick_device
from explorer.core.models.vqvae import VQVAE

from ..state import AppState
from .data_dialog import MissingDataDialog
from .history import TrainingHistory, progress_text, status_text
from .outcome import (bundle_with_new_vqvae, describe_metrics, known_speed, length_text, load_weights, make_job,
                      plan_text, record_training, replaced_by_start, with_new_prior)
from .plots_view import TrainPlots
from .run_controls import RunControls, RunState
from .settings import TrainSettings, data_config_of
from .settings_form import SettingsForm
from .training_job import Failed, Finished, ModelCreated, Progress, Snapshot, Status, cap_torch_threads
from .training_run import TrainingRun
from ..widgets.plain_text import plain

REDRAW_MS = 50                       # one plot redraws per tick: at most 20 redraws a second
SNAPSHOT_MIN_INTERVAL_S = 0.25       # other panels see the training model at most 4 times a second


class TrainPanel(QWidget):
    """Train a VQ-VAE or its prior on the loaded bundle, watching the curves live."""

    title = "Train"
    help_text = (
        "<p>Train the VQ-VAE (or, with <i>Train: Prior</i>, a PixelCNN prior over its codes) and watch "
        "it learn. The run happens in a background thread; Pause and Stop act within one step, and the "
        "other panels show the model as it is now.</p>"
        "<p><b>VQ-VAE objective</b> (notes, <i>VQ-VAE: training objective</i>):</p>"
        "<p style='font-size:120%'>L = ‖x − D(z<sub>q</sub>(x))‖² + ‖sg[z<sub>e</sub>(x)] − z<sub>q</sub>(x)‖² "
        "+ β ‖z<sub>e</sub>(x) − sg[z<sub>q</sub>(x)]‖²</p>"
        "<p>D(z<sub>q</sub>(x)) is the decoder's reconstruction of x, sg[·] is stop-gradient. "
        "The first term trains encoder and decoder (the gradient passes "
        "the quantiser straight through), the second moves the codes towards the encoder outputs "
        "(replaced by EMA updates when <i>ema</i> is on), the third keeps the encoder committed to "
        "its codes. <b>Perplexity</b> exp(H(p)) of the code histogram is the effective number of codes "
        "in use; the histogram shows which codes the last steps chose (dead codes are gaps).</p>"
        "<p><b>Prior objective</b> (notes, <i>PixelCNN: training</i>): L = −Σ<sub>i,j</sub> log "
        "p(z<sub>ij</sub> | z<sub>&lt;ij</sub>), with teacher forcing, shown in nats per latent.</p>")

    running_changed = Signal(bool)
    device_changed = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPanel")
        self.setAccessibleName("Train")
        self.state = state
        self.settings_model = TrainSettings()
        self.history = TrainingHistory()
        self.run: TrainingRun | None = None
        self.run_settings: TrainSettings | None = None
        self.error_dialog: QMessageBox | None = None
        self.data_dialog: MissingDataDialog | None = None
        self._speeds: dict[str, float] = {}   # images (grids) per second of this session's last run, per mode
        self.snapshot_every = 25
        #: Asked before Start replaces an unsaved model: (what happens) -> go ahead?
        self.confirm_discard: Callable[[str], bool] | None = None
        self._pending_snapshot: Snapshot | None = None
        self._last_snapshot_time = 0.0
        self._drawn_revision = -1
        self._stale_views = 0              # plots not yet redrawn since the last new step

        # Training leaves one core to the GUI; set it now, so the device shown before Start
        # (status bar, model bar) names the threads training will use.
        cap_torch_threads(torch.device("cpu"))
        self.controls = RunControls(self)
        self.form = SettingsForm(self.settings_model, self)
        self.plots = TrainPlots(self)
        left = QWidget(self)
        left.setObjectName("trainSidebar")
        left.setAccessibleName("Training controls and settings")
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addWidget(self.controls)
        left_layout.addWidget(self.form, 1)
        left.setMinimumWidth(300)
        self.splitter = QSplitter(self)
        self.splitter.setObjectName("trainSplitter")
        self.splitter.setAccessibleName("Divider between settings and plots")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([340, 900])
        QHBoxLayout(self).addWidget(self.splitter)

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(lambda: self._redraw(everything=False))

        self.form.changed.connect(self._on_form_changed)
        self.form.invalid.connect(self._show_refusal)
        self._refusal = ("", "")                 # (the refusal shown, the status it replaced)
        self.controls.mode_changed.connect(self._on_mode_changed)
        self.controls.device_changed.connect(self._on_device_changed)
        self.controls.continue_changed.connect(self._on_continue_changed)
        self.controls.start_clicked.connect(self.start)
        self.controls.pause_clicked.connect(self.toggle_pause)
        self.controls.stop_clicked.connect(self.stop)
        self.controls.set_choices(self.settings_model.mode, self.settings_model.device,
                                  self.settings_model.continue_training)
        state.bundle_changed.connect(self._on_bundle_changed)
        self._on_bundle_changed()

    def _show_refusal(self, message: str) -> None:
        """A refused form value, in the status line; once fixed ("") the earlier status comes back."""
        label = self.controls.status_label
        shown, before = self._refusal
        if message:
            self._refusal = (message, before if shown and label.text() == shown else label.text())
            label.setText(message)
        elif shown:
            if label.text() == shown:
                label.setText(before)
            self._refusal = ("", "")

    # ------------------------------------------------------------------ public actions
    @property
    def is_running(self) -> bool:
        return self.run is not None

    def device_name(self) -> str:
        return self.settings_model.device

    def start(self) -> None:
        """Start training what the mode selector says, with the form's settings."""
        if self.run is not None:
            return
        s, bundle = self.settings_model, self.state.bundle
        if s.mode == "prior" and bundle is None:
            self.controls.status_label.setText("Load or train a VQ-VAE first: the prior models its codes.")
            return
        if missing_data_message(s.data) is not None:
            self.ask_for_data(s.data)
            return
        replaced = replaced_by_start(s, bundle)
        if replaced and self.confirm_discard and not self.confirm_discard(replaced):
            return
        job = make_job(s, bundle)
        job.snapshot_every = self.snapshot_every
        self.run_settings = dataclasses.replace(s, vqvae=job.vqvae_train, prior=job.prior_train)   # as run
        self.history.clear(s.mode)
        self.plots.clear(s.mode)
        self.plots.show_mode(s.mode)
        self._pending_snapshot, self._drawn_revision = None, -1
        self.run = TrainingRun(job, self)
        self.run.event.connect(self._on_event)
        self.run.paused.connect(self._on_paused)
        self.run.resumed.connect(self._on_resumed)
        self.run.finished.connect(self._on_run_finished)
        self.controls.set_state(RunState.RUNNING)
        self.controls.set_busy("Starting …")
        self.run.start()
        self._timer.start()
        self.running_changed.emit(True)

    def ask_for_data(self, data: DataConfig) -> MissingDataDialog:
        """The images are not here: one dialog offers to download them or to choose their folder;
        once they are there, Start goes on by itself."""
        self.controls.status_label.setText("The training images are not on this computer yet.")
        self.data_dialog = dialog = MissingDataDialog(data, self)
        dialog.accepted.connect(lambda: self._data_ready(dialog.chosen_root))
        dialog.open()
        return dialog

    def _data_ready(self, chosen_root: str | None) -> None:
        if chosen_root is not None:
            self.settings_model.data = dataclasses.replace(self.settings_model.data, root=chosen_root)
            self.form.set_settings(self.settings_model)
        if missing_data_message(self.settings_model.data) is None:
            self.start()
        else:
            self.controls.status_label.setText("That folder does not hold the images either: " +
                                               missing_data_message(self.settings_model.data).splitlines()[0])

    def toggle_pause(self) -> None:
        if self.run is None:
            return
        if self.run.is_paused:
            self.run.resume()
        else:
            self.run.pause()

    def start_or_pause(self) -> None:
        """One shortcut: start when idle, pause when running, resume when paused."""
        if self.run is None:
            self.start()
        else:
            self.toggle_pause()

    def stop(self) -> None:
        """Stop after the current step, keeping the model trained so far."""
        if self.run is not None and not self.run.is_stopping:
            self.controls.set_state(RunState.STOPPING)
            self.controls.status_label.setText("Stopping after this step …")
            self.run.stop()

    def finish_now(self, keep: bool, timeout_s: float = 60.0) -> bool:
        """Stop (keep=True: with the final weights) or abort the run, and wait for its thread."""
        if self.run is None:
            return True
        run = self.run
        if keep:
            self.stop()
        else:
            run.abort()
        return run.wait(timeout_s)

    # ------------------------------------------------------------------ worker events (GUI thread)
    def _on_event(self, event: object) -> None:
        if isinstance(event, Progress):            # the hot path: buffer only
            self.history.add(event.which, event.values)
            if event.values["step"] == 1:
                self.plots.set_step_range(event.which, event.values["total_steps"])
        elif isinstance(event, Snapshot):
            self._pending_snapshot = event
        elif isinstance(event, Status) and event.fraction is not None:     # e.g. encoding the code grids
            self.controls.set_progress(round(1000 * event.fraction), 1000, event.text)
            self.controls.status_label.setText(event.text)
        elif isinstance(event, Status):
            self.controls.set_busy(event.text)
        elif isinstance(event, ModelCreated):
            self._adopt_new_model(event)
        elif isinstance(event, Finished):
            self._on_finished(event)
        elif isinstance(event, Failed):
            self._on_failed(event)

    def _adopt_new_model(self, event: ModelCreated) -> None:
        bundle = self.state.bundle
        if event.which == "vqvae":
            data = self.run_settings.data.to_dict() if self.run_settings else {}
            vqvae = load_weights(VQVAE(event.config), event.weights)
            self.state.set_bundle(bundle_with_new_vqvae(bundle, vqvae, data), None)
            self.state.message.emit(f"New VQ-VAE (K={event.config.num_codes}, D={event.config.code_dim}): "
                                    "any previous prior was dropped.")
        elif bundle is not None:
            self.state.set_bundle(with_new_prior(bundle, event.config, event.weights), self.state.path)

    def _apply(self, which: str, weights: dict) -> bool:
        try:
            self.state.apply_snapshot(which, weights)
            return True
        except RuntimeError as exc:               # the bundle was replaced meanwhile
            self.controls.status_label.setText(f"Could not show the training model: {exc}")
            return False

    def _on_finished(self, event: Finished) -> None:
        self._pending_snapshot = None
        self._redraw()
        bundle = self.state.bundle
        if event.summary.get("images_per_s"):
            self._speeds[event.which] = float(event.summary["images_per_s"])
        if event.weights is not None and bundle is not None and self._apply(event.which, event.weights):
            record_training(bundle, event, self.run_settings or self.settings_model)
        what = "VQ-VAE" if event.which == "vqvae" else "prior"
        verb = "stopped" if event.stopped else "finished"
        text = f"{what} training {verb} after {event.step} steps on {event.device}. Not saved yet (Ctrl+Shift+S)."
        self.controls.set_progress(event.step, max(event.total_steps, 1),
                                   f"{verb}: step {event.step} / {event.total_steps}")
        self.controls.status_label.setText(text)
        self.state.message.emit(text)

    def _on_failed(self, event: Failed) -> None:
        if self._pending_snapshot is not None:     # the last good weights
            self._apply(self._pending_snapshot.which, self._pending_snapshot.weights)
            self._pending_snapshot = None
        self._redraw()
        self.controls.set_progress(0, 1, "failed")
        self.controls.status_label.setText(event.message)
        self.state.message.emit(event.message)
        self.error_dialog = box = QMessageBox(QMessageBox.Icon.Critical, "Training failed", event.message,
                                              QMessageBox.StandardButton.Ok, self)
        box.setObjectName("trainingErrorDialog")
        box.setAccessibleName("Training failed")
        plain(box)                                    # the message may quote a path
        box.setInformativeText("The last good model is kept.")
        if event.detail:
            box.setDetailedText(event.detail)
        box.open()

    def _on_paused(self) -> None:
        self.controls.set_state(RunState.PAUSED)
        self.controls.status_label.setText("Paused: the other panels show the model as it is now.")
        if self._pending_snapshot is not None:
            self._apply(self._pending_snapshot.which, self._pending_snapshot.weights)
            self._pending_snapshot = None

    def _on_resumed(self) -> None:
        if self.run is not None and not self.run.is_stopping:
            self.controls.set_state(RunState.RUNNING)

    def _on_run_finished(self) -> None:
        self._timer.stop()
        self._redraw()
        run, self.run = self.run, None
        if run is not None:
            run.deleteLater()
        self.controls.set_state(RunState.IDLE)
        self._update_plan()
        self.running_changed.emit(False)

    def _redraw(self, everything: bool = True) -> None:
        """Pass on the newest snapshot (at most 4 times a second) and redraw what changed.

        The timer calls it with ``everything=False``: one plot per tick (see
        :meth:`TrainPlots.update_next`), none in a tick that applied a snapshot; the end of a
        run redraws all of them.
        """
        now = time.monotonic()
        if self._pending_snapshot is not None and now - self._last_snapshot_time >= SNAPSHOT_MIN_INTERVAL_S:
            snap, self._pending_snapshot = self._pending_snapshot, None
            self._last_snapshot_time = now
            self._apply(snap.which, snap.weights)
            if not everything:
                return                             # the other panels redraw this tick; plots the next
        mode = self.run_settings.mode if self.run_settings else self.settings_model.mode
        new_data = self.history.revision != self._drawn_revision
        if everything:
            self.plots.update_from(self.history, mode)
            self._stale_views = 0
        else:
            if new_data:
                self._stale_views = self.plots.view_count(mode)
            if self._stale_views:
                self.plots.update_next(self.history, mode)
                self._stale_views -= 1
        if new_data:
            self._drawn_revision = self.history.revision
            latest = self.history.latest
            if latest:
                self.controls.set_progress(latest["step"], latest["total_steps"], progress_text(latest))
                if not self.run or not self.run.is_paused:
                    self.controls.status_label.setText(status_text(mode, latest))

    # ------------------------------------------------------------------ form and bundle
    def _on_form_changed(self, settings: TrainSettings) -> None:
        self.settings_model = settings
        self._update_plan()

    def _on_mode_changed(self, mode: str) -> None:
        self.settings_model.mode = mode
        self.form.setCurrentIndex(SettingsForm.TAB_FOR_MODE[mode])
        if self.run is None:
            self.plots.show_mode(mode)
        self._update_plan()

    def _on_device_changed(self, device: str) -> None:
        self.settings_model.device = device
        self.device_changed.emit(device)

    def _on_continue_changed(self, on: bool) -> None:
        self.settings_model.continue_training = on
        self._update_plan()

    def _update_plan(self) -> None:
        s, bundle = self.settings_model, self.state.bundle
        speed = self._speeds.get(s.mode) or known_speed(s, bundle)
        length = length_text(s, count_training_images(s.data), speed)
        self.controls.plan_label.setText(plan_text(s, bundle) + (f" Length: {length}." if length else ""))
        self.controls.set_can_continue(bundle is not None and (s.mode == "vqvae" or bundle.prior is not None))

    def _sync_form_to_bundle(self) -> None:
        """Show the loaded models' architecture and data in the form, so Start can continue them.

        The form then says how the loaded model was trained; training settings (steps, rates)
        stay the user's, and so does the data folder when the bundle's does not exist here.
        """
        bundle, s = self.state.bundle, self.settings_model
        if bundle is not None:
            s.vqvae = dataclasses.replace(s.vqvae, model=bundle.vqvae.config)
            if bundle.prior is not None:
                s.prior = dataclasses.replace(s.prior, model=bundle.prior.config)
            data = data_config_of(bundle.data)
            if data is not None:
                # A folder from the machine the bundle was trained on is no use here: keep ours.
                if usable_root(data.root) is None:
                    data = dataclasses.replace(data, root=usable_root(s.data.root))
                s.data = data
            self.form.set_settings(s)
        self._update_plan()

    def _on_bundle_changed(self) -> None:
        if self.run is not None:                   # our own new model at the start of a run
            self._update_plan()
            return
        self._sync_form_to_bundle()
        bundle = self.state.bundle
        self.plots.clear("vqvae")
        self.plots.show_model(bundle)
        if bundle is not None:
            metrics = describe_metrics(bundle.metrics)
            self.controls.status_label.setText(f"Loaded {bundle.name}" + (f": {metrics}" if metrics else "."))

    # ------------------------------------------------------------------ window hooks
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("settings", self.settings_model.to_json())
        settings.setValue("splitter", self.splitter.saveState())
        settings.setValue("formTab", self.form.currentIndex())

    def restore_settings(self, settings: QSettings) -> None:
        s = TrainSettings.from_json(settings.value("settings", "", type=str))
        devices = [self.controls.device_combo.itemData(i) for i in range(self.controls.device_combo.count())]
        if s.device not in devices:
            s.device = "auto"
        self.settings_model = s
        self.form.set_settings(s)
        self.controls.set_choices(s.mode, s.device, s.continue_training)
        self.plots.show_mode(s.mode)
        splitter = settings.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.form.setCurrentIndex(int(settings.value("formTab", SettingsForm.TAB_FOR_MODE[s.mode])))
        self._sync_form_to_bundle()
        self.device_changed.emit(s.device)

    def set_presentation(self, on: bool) -> None:
        """Larger plot text; the sidebar widens to what its controls need in the larger font
        (the plots get the rest)."""
        self.plots.set_presentation(on)
        total = sum(self.splitter.sizes())
        if on:
            self._normal_split = self.splitter.sizes()
            sidebar = self.splitter.widget(0)
            sidebar.ensurePolished()
            need = max(sidebar.minimumSizeHint().width(), self.controls.sizeHint().width() + 12,
                       self.form.needed_width() + 12)
            self.splitter.setSizes([need, max(1, total - need)])
        elif getattr(self, "_normal_split", None):
            self.splitter.setSizes(self._normal_split)

    def resolved_device(self) -> str:
        """The device 'auto' stands for on this machine, e.g. 'cuda'."""
        try:
            return str(pick_device(self.settings_model.device))
        except ValueError:
            return "cpu"
