"""The model bar: which bundle is loaded (name, K, D, grid, device) with Open, Save as and New.

Opening and saving run in worker threads; a bad bundle shows its BundleError message in a
dialog and the current model stays. The bar also keeps the "unsaved" mark: a bundle without a
path, or whose weights changed since it was loaded or saved (training), is unsaved.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QMessageBox, QSizePolicy, QToolButton, QWidget

from explorer.core.bundle import BundleError
from explorer.core.models.vqvae import VQVAE
from explorer.core.paths import is_read_only_bundle

from .state import AppState
from .train.outcome import bundle_with_new_vqvae
from .train.settings import TrainSettings
from .widgets.plain_text import escape_markup, literal, plain
from .workers import load_bundle_async, save_bundle_async


def load_error_text(exc: BaseException) -> str:
    """What the user reads when a bundle cannot be opened: a BundleError's plain message, never
    raw Python text (load_bundle raises nothing else; anything else is named as unexpected)."""
    if isinstance(exc, BundleError):
        return str(exc)
    return f"The bundle could not be opened: an unexpected {type(exc).__name__} occurred."


class ModelBar(QWidget):
    """Shows the loaded bundle and owns the Open / Save as / New actions."""

    bundle_opened = Signal(str)     # path of a bundle loaded from disk
    bundle_saved = Signal(str)      # path a bundle was saved to
    unsaved_changed = Signal(bool)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBar")
        self.setAccessibleName("Loaded model")
        self.state = state
        self.unsaved = False
        #: Weights changed (training) since the model was loaded, saved or made new: quitting asks.
        self.modified = False
        self.loading = False
        self.device_text = "cpu"
        self.last_error: str = ""
        self.error_dialog: QMessageBox | None = None
        #: The training form's settings, for New (set by the main window).
        self.settings_provider: Callable[[], TrainSettings] = TrainSettings
        self._workers: list = []

        self.open_action = self._action("&Open bundle…", QKeySequence.StandardKey.Open, self.choose_and_open,
                                        "Open a model bundle folder")
        self.save_as_action = self._action("Save bundle &as…", QKeySequence("Ctrl+Shift+S"), self.choose_and_save,
                                           "Save the model (and its prior) to a bundle folder")
        self.new_action = self._action("&New model", QKeySequence.StandardKey.New, self.new_model,
                                       "A fresh untrained VQ-VAE with the training form's settings")
        self.name_label = QLabel(self)
        self.info_label = QLabel(self)
        self.device_label = QLabel(self)
        self.buttons: list[QToolButton] = []
        for widget, name, accessible in ((self.name_label, "modelNameLabel", "Model name"),
                                         (self.info_label, "modelInfoLabel", "Model size"),
                                         (self.device_label, "modelDeviceLabel", "Compute device")):
            widget.setObjectName(name)
            widget.setAccessibleName(accessible)
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            # On a narrow screen (a 1024 px projector) the labels give way, not the window.
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            widget.setMinimumWidth(60)
        # The name comes from the bundle's config.json: escaped inside the bar's own markup; the
        # other two show only plain text.
        self.name_label.setTextFormat(Qt.TextFormat.RichText)
        plain(self.info_label)
        plain(self.device_label)
        for action, name in ((self.open_action, "openButton"), (self.save_as_action, "saveAsButton"),
                             (self.new_action, "newButton")):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setObjectName(name)
            button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
            self.buttons.append(button)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(8, 4, 8, 4)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.set_presentation(False)
        state.bundle_changed.connect(self._on_bundle_changed)
        state.weights_updated.connect(self._on_weights_updated)
        self._on_bundle_changed()

    def _action(self, text: str, shortcut, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    # ------------------------------------------------------------------ display
    def set_presentation(self, on: bool) -> None:
        """One row normally; in presentation mode (large fonts) the model's size and device move
        to a second row under the name, so nothing is cut short on a 1280 px screen."""
        for widget in (self.name_label, self.info_label, self.device_label, *self.buttons):
            self.grid.removeWidget(widget)
        for column in range(8):
            self.grid.setColumnStretch(column, 0)
        if on:
            self.grid.addWidget(self.name_label, 0, 0)
            self.grid.addWidget(self.device_label, 0, 1)
            self.grid.addWidget(self.info_label, 1, 0, 1, 5)
            self.grid.setColumnStretch(0, 1)
            self.grid.setColumnStretch(1, 1)
        else:
            self.grid.addWidget(self.name_label, 0, 0)
            self.grid.addWidget(self.info_label, 0, 1)
            self.grid.addWidget(self.device_label, 0, 2)
            for column, stretch in ((0, 2), (1, 5), (2, 2)):
                self.grid.setColumnStretch(column, stretch)
        for i, button in enumerate(self.buttons):
            self.grid.addWidget(button, 0, (2 if on else 3) + i)
        # Ignored size policies: the labels' height still follows their text (two rows or one).
        for label in (self.name_label, self.info_label, self.device_label):
            label.setMinimumHeight(label.fontMetrics().height() if on else 0)

    def _on_bundle_changed(self) -> None:
        self.set_unsaved(self.state.bundle is not None and self.state.path is None)
        self.refresh()

    def _on_weights_updated(self, _which: str) -> None:
        self.modified = True
        self.set_unsaved(True)

    def forget_changes(self) -> None:
        """The user chose to discard the changes (or they were saved): quitting no longer asks."""
        self.modified = False

    def set_unsaved(self, unsaved: bool) -> None:
        if unsaved != self.unsaved:
            self.unsaved = unsaved
            self.unsaved_changed.emit(unsaved)
        self.refresh()

    def set_device(self, text: str) -> None:
        self.device_text = text
        self.refresh()

    def set_busy(self, busy: bool) -> None:
        """While training runs, the model cannot be replaced."""
        self.open_action.setEnabled(not busy)
        self.new_action.setEnabled(not busy)

    def refresh(self) -> None:
        bundle = self.state.bundle
        if bundle is None:
            self.name_label.setText("<b>No model loaded</b>" + (" (loading …)" if self.loading else ""))
            self.info_label.setText("Open a bundle (Ctrl+O) or train a new model")
        else:
            cfg = bundle.vqvae.config
            mark = " <span style='color:#d55e00'>● unsaved</span>" if self.unsaved else ""
            self.name_label.setText(f"<b>{escape_markup(bundle.name or 'model')}</b>{mark}")
            prior = bundle.prior.config.describe() if bundle.prior is not None else "none"
            self.info_label.setText(f"K = {cfg.num_codes} codes · D = {cfg.code_dim} · "
                                    f"grid {cfg.grid_size}×{cfg.grid_size} · {cfg.quantizer.upper()} · prior: {prior}")
            self.info_label.setToolTip(literal(self.info_label.text()))
            self.name_label.setToolTip(literal(self.state.path) if self.state.path else "not saved yet")
        self.device_label.setText(f"device: {self.device_text}")
        self.device_label.setToolTip(literal(self.device_label.text()))
        self.device_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.save_as_action.setEnabled(bundle is not None)

    # ------------------------------------------------------------------ unsaved work
    def confirm_discard(self, what: str) -> bool:
        """Ask before the unsaved model is replaced; True when it may go."""
        if not self.unsaved or self.state.bundle is None:
            return True
        box = QMessageBox(QMessageBox.Icon.Question, "Discard the unsaved model?",
                          f"{what}\nThe current model has not been saved.",
                          QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDiscardDialog")
        plain(box)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ Open
    def choose_and_open(self) -> None:
        start = str(self.state.path.parent) if self.state.path else ""
        folder = QFileDialog.getExistingDirectory(self, "Open a model bundle folder", start)
        if folder and self.confirm_discard("Opening another bundle replaces the loaded model."):
            self.open_bundle(folder)

    def open_bundle(self, path: str | Path, quiet: bool = False, start: bool = True):
        """Load a bundle in a worker thread; returns the worker (for tests and scripts).

        ``quiet``: a failure is only a status message (start-up), not a dialog.
        ``start=False``: the caller connects more slots, then starts it.
        """
        worker = load_bundle_async(path)
        worker.returned.connect(self._on_loaded)
        worker.errored.connect(self._on_load_failed_quietly if quiet else self._on_load_failed)
        self._track(worker)
        self.loading = True
        self.refresh()
        self.state.message.emit(f"Loading {path} …")
        if start:
            worker.start()
        return worker

    def _on_loaded(self, result: tuple) -> None:
        bundle, path = result
        self.loading = False
        self.state.set_bundle(bundle, path)
        self.set_unsaved(False)
        self.modified = False
        self.state.message.emit(f"Loaded {bundle.name} from {path}")
        self.bundle_opened.emit(str(path))

    def _on_load_failed_quietly(self, exc: Exception) -> None:
        self.loading = False
        self.refresh()
        self.state.message.emit(load_error_text(exc))

    def _on_load_failed(self, exc: Exception) -> None:
        self.loading = False
        self.refresh()
        self._show_error("Could not open the bundle", load_error_text(exc), "bundleErrorDialog")

    # ------------------------------------------------------------------ Save as
    def ask_save_path(self) -> str | None:
        """The folder the user chooses for the bundle, or None (cancelled, or no model)."""
        bundle = self.state.bundle
        if bundle is None:
            return None
        if self.state.path and not is_read_only_bundle(self.state.path):
            suggested = str(self.state.path)
        else:                                      # never offer to overwrite a shipped model
            name = (bundle.name or "model").split(" ")[0]
            suggested = str(Path.home() / (f"{name}-trained" if self.state.path else name))
        path, _ = QFileDialog.getSaveFileName(self, "Save the model bundle as (a folder)", suggested)
        if path and is_read_only_bundle(path):
            self._show_error("Choose another folder", f"{path} holds a model shipped with the app (or a folder "
                             "you cannot write); it is never overwritten. Save under another name.",
                             "readOnlyBundleDialog")
            return None
        return path or None

    def choose_and_save(self) -> None:
        path = self.ask_save_path()
        if path:
            self.save_as(path)

    def save_now(self, path: str | Path) -> bool:
        """Write the bundle in this thread (the window is closing); False, with a dialog, on failure."""
        bundle = self.state.bundle
        try:
            bundle.save(path)
        except Exception as exc:  # the trained model stays in memory: the caller keeps the window open
            self._show_error("Could not save the bundle", str(exc), "saveErrorDialog")
            return False
        self._on_saved(bundle, str(Path(path).resolve()))
        return True

    def save_as(self, path: str | Path):
        """Write the bundle atomically (Bundle.save) in a worker thread; returns the worker."""
        bundle = self.state.bundle
        worker = save_bundle_async(bundle, path)
        worker.returned.connect(lambda saved, b=bundle: self._on_saved(b, saved))
        worker.errored.connect(lambda exc: self._show_error("Could not save the bundle", str(exc),
                                                            "saveErrorDialog"))
        self._track(worker)
        worker.start()
        return worker

    def _on_saved(self, bundle, path: str) -> None:
        bundle.path = Path(path)
        if bundle is self.state.bundle:
            self.state.path = Path(path)
            self.set_unsaved(False)
            self.modified = False
        self.state.message.emit(f"Saved to {path}")
        self.bundle_saved.emit(path)

    # ------------------------------------------------------------------ New
    def new_model(self) -> bool:
        """Replace the model by a fresh untrained VQ-VAE built from the training form's settings."""
        if not self.confirm_discard("A new model replaces the loaded one."):
            return False
        settings = self.settings_provider()
        torch.manual_seed(settings.vqvae.seed)
        vqvae = VQVAE(settings.vqvae.model)
        self.state.set_bundle(bundle_with_new_vqvae(self.state.bundle, vqvae, settings.data.to_dict()), None)
        self.modified = False
        self.state.message.emit("A new untrained VQ-VAE: train it on the Train panel.")
        return True

    # ------------------------------------------------------------------ helpers
    def _track(self, worker) -> None:
        self._workers.append(worker)
        worker.finished.connect(lambda w=worker: self._workers.remove(w) if w in self._workers else None)

    def _show_error(self, title: str, message: str, object_name: str) -> None:
        self.last_error = message
        self.state.message.emit(message)
        self.error_dialog = box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                                              QMessageBox.StandardButton.Ok, self)
        box.setObjectName(object_name)
        box.setAccessibleName(title)
        plain(box)                                  # the message may quote a file name or a path
        box.setInformativeText("The current model is kept.")
        box.open()
