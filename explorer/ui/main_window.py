"""The main window: model bar, one tab per panel, menus with shortcuts, and a status bar.

``MainWindow(bundle=None)`` needs an existing QApplication and starts no event loop, so tests
and scripts can build it; :func:`explorer.ui.app.run_app` is the program's entry point.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import QEvent, QMargins, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout,
                               QWidget)

from explorer.core.bundle import Bundle
from explorer.core.device import describe_device, pick_device

from .help import HelpDialog, HelpTopic
from .message_notice import MessageNotice, fits_status_bar
from .model_bar import ModelBar
from .panels import PANELS
from .presentation import PresentationStyle
from .settings import settings_store
from .state import AppState
from .workers import shutdown_workers
from .widgets.plain_text import literal

GPU_REFRESH_MS = 1000
DEFAULT_SIZE = QSize(1280, 800)     # the window's content on a first launch, where the screen has room
# Before the window is on screen its frame is unknown: assume a title bar and borders as large as
# common desktops draw; fit_to_screen() uses the real ones once the window is shown.
FRAME_GUESS = QMargins(8, 38, 8, 8)


def first_window_geometry(available: QRect, frame: QMargins, preferred: QSize = DEFAULT_SIZE) -> QRect:
    """The window's content rectangle on a first launch: ``preferred`` or smaller, so that with its
    ``frame`` (title bar, borders) it lies inside the screen's ``available`` area, centred there."""
    room = available.marginsRemoved(frame).size()
    size = preferred.boundedTo(room)
    outer = QSize(size.width() + frame.left() + frame.right(), size.height() + frame.top() + frame.bottom())
    x = available.x() + max(0, (available.width() - outer.width()) // 2) + frame.left()
    y = available.y() + max(0, (available.height() - outer.height()) // 2) + frame.top()
    return QRect(x, y, size.width(), size.height())


class MainWindow(QMainWindow):
    """Everything the user sees; panels share one :class:`AppState`."""

    closed = Signal()               # the window accepted a close: nothing runs any more
    _refit_when_framed = False      # fit_to_screen() guessed the frame: fit again once it is known

    def __init__(self, bundle: Bundle | None = None, parent: QWidget | None = None, *,
                 remember: bool = True) -> None:
        """``remember=False``: neither restore nor save QSettings (screenshots, benchmarks)."""
        super().__init__(parent)
        self.remember = remember
        self.setObjectName("mainWindow")
        self.setAccessibleName("Discrete Latent Explorer")
        self.state = AppState(parent=self)
        self.model_bar = ModelBar(self.state, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("panelTabs")
        self.tabs.setAccessibleName("Panels")
        self.tabs.setDocumentMode(True)
        self.panels: dict[str, QWidget] = {}
        for spec in PANELS:
            panel = spec.cls(self.state, self.tabs)
            self.panels[spec.object_name] = panel
            self.tabs.addTab(panel, spec.title.replace("&", "&&"))
        self.titles = {spec.object_name: spec.title for spec in PANELS}
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.model_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.train_panel = self.panels["trainPanel"]
        self.train_panel.confirm_discard = self.model_bar.confirm_discard
        self.panels["quantizerLab"].confirm_discard = self.model_bar.confirm_discard
        self.model_bar.settings_provider = lambda: self.train_panel.settings_model
        self.presentation = PresentationStyle(self)
        self.help_dialog: HelpDialog | None = None
        self._startup_paths: list[Path] = []
        self._build_status_bar()
        self._build_menus()

        self.train_panel.running_changed.connect(self._on_running_changed)
        self.train_panel.device_changed.connect(self._on_device_changed)
        self.state.message.connect(self.show_message)
        self.state.bundle_changed.connect(self.message_notice.dismiss)   # its messages are about the last one
        self.state.bundle_changed.connect(self._update_title)
        self.state.grid_opened.connect(lambda _request: self.show_panel("latentEditor"))
        self.model_bar.unsaved_changed.connect(lambda _: self._update_title())
        self.model_bar.bundle_opened.connect(self._remember_bundle)
        self.model_bar.bundle_saved.connect(self._remember_bundle)
        self.tabs.currentChanged.connect(self._sync_panel_actions)

        self.geometry_restored = False       # restore_settings() found the user's last window geometry
        self.resize(DEFAULT_SIZE)
        if remember:
            self.restore_settings()
        if bundle is not None:
            self.state.set_bundle(bundle, bundle.path)
        self._on_device_changed(self.train_panel.device_name())
        self._update_title()

    # ------------------------------------------------------------------ construction
    def _build_status_bar(self) -> None:
        self.device_status = QLabel(self)
        self.device_status.setObjectName("deviceStatus")
        self.device_status.setAccessibleName("Training device")
        self.gpu_memory_status = QLabel(self)
        self.gpu_memory_status.setObjectName("gpuMemoryStatus")
        self.gpu_memory_status.setAccessibleName("GPU memory")
        self.message_notice = MessageNotice(self)     # a long message: first sentence, "Details…" for all
        self.statusBar().addWidget(self.message_notice, 1)
        self.statusBar().addPermanentWidget(self.gpu_memory_status)
        self.statusBar().addPermanentWidget(self.device_status)
        self.gpu_timer = QTimer(self)
        self.gpu_timer.setInterval(GPU_REFRESH_MS)
        self.gpu_timer.timeout.connect(self.refresh_gpu_memory)

    def _add(self, menu, text: str, shortcut: str | QKeySequence | None, slot, name: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.model_bar.open_action, self.model_bar.save_as_action, self.model_bar.new_action])
        file_menu.addSeparator()
        self.export_action = self._add(file_menu, "&Export image of this panel…", "Ctrl+E",
                                       lambda: self.export_image(), "exportImageAction")
        file_menu.addSeparator()
        self._add(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close, "quitAction")

        train_menu = bar.addMenu("&Train")
        self.start_pause_action = self._add(train_menu, "&Start / pause / resume training", "Ctrl+R",
                                            self.train_panel.start_or_pause, "startPauseAction")
        self.stop_action = self._add(train_menu, "S&top training", "Ctrl+.", self.train_panel.stop,
                                     "stopTrainingAction")
        self.stop_action.setEnabled(False)

        view_menu = bar.addMenu("&View")
        self.panel_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for i, spec in enumerate(PANELS, start=1):
            action = self._add(view_menu, spec.title.replace("&", "&&"), f"Ctrl+{i}",
                               lambda _=False, n=spec.object_name: self.show_panel(n), f"show_{spec.object_name}")
            action.setCheckable(True)
            group.addAction(action)
            self.panel_actions[spec.object_name] = action
        view_menu.addSeparator()
        self.presentation_action = self._add(view_menu, "&Presentation mode", "F5", self.set_presentation,
                                             "presentationAction")
        self.presentation_action.setCheckable(True)

        help_menu = bar.addMenu("&Help")
        self._add(help_menu, "&What does this panel show?", QKeySequence.StandardKey.HelpContents,
                  lambda: self.show_help(), "helpAction")
        self._add(help_menu, "&About", None, self._about, "aboutAction")
        self._sync_panel_actions()

    # ------------------------------------------------------------------ panels
    def show_panel(self, name: str) -> QWidget:
        """Switch to the panel with this objectName (e.g. "codebookPanel")."""
        if name not in self.panels:
            raise KeyError(f"no panel {name!r}; panels: {', '.join(self.panels)}")
        self.tabs.setCurrentWidget(self.panels[name])
        return self.panels[name]

    def current_panel(self) -> QWidget:
        return self.tabs.currentWidget()

    def _sync_panel_actions(self, *_: object) -> None:
        action = self.panel_actions.get(self.current_panel().objectName())
        if action is not None:
            action.setChecked(True)
        self._focus_current_panel()

    def _focus_current_panel(self) -> None:
        """Keyboard focus into the panel just shown, unless it is already there: its shortcuts (Space
        plays on the Sampling panel) must work at once, not press a model-bar button that kept focus."""
        panel = self.current_panel()
        focus = QApplication.focusWidget()
        if focus is None or not (focus is panel or panel.isAncestorOf(focus)):
            if panel.focusPolicy() == Qt.FocusPolicy.NoFocus:
                panel.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            panel.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ model
    def open_bundle(self, path: str | Path):
        """Load a bundle in the background (as File > Open does); returns the worker."""
        return self.model_bar.open_bundle(path)

    def open_first_bundle(self, paths: list[Path], explain_first: bool = False) -> None:
        """Start-up: load the first of ``paths`` that loads, trying the next on failure.

        Failures are status messages, except for the first path when ``explain_first`` (the
        one the user named): its error shows in a dialog while the next one loads.
        """
        self._startup_paths = list(paths)
        self._open_next_startup_bundle(quiet=not explain_first)

    def _open_next_startup_bundle(self, *_: object, quiet: bool = True) -> None:
        if not self._startup_paths:
            return
        worker = self.model_bar.open_bundle(self._startup_paths.pop(0), quiet=quiet, start=False)
        worker.errored.connect(self._open_next_startup_bundle)
        worker.start()

    def _remember_bundle(self, path: str) -> None:
        if self.remember:
            settings_store().setValue("bundle/last", str(path))

    def _update_title(self) -> None:
        bundle = self.state.bundle
        name = f"{bundle.name.replace('[*]', '[*][*]')}[*] – " if bundle is not None else ""   # '[*][*]' shows '[*]'
        self.setWindowTitle(f"{name}Discrete Latent Explorer")
        self.setWindowModified(bundle is not None and self.model_bar.unsaved)

    def _on_running_changed(self, running: bool) -> None:
        self.model_bar.set_busy(running)
        self.stop_action.setEnabled(running)

    def _on_device_changed(self, device: str) -> None:
        try:
            resolved = pick_device(device)
            text = describe_device(resolved)
        except ValueError:
            resolved, text = torch.device("cpu"), "cpu"
        label = f"{device} → {text}" if device == "auto" else text
        self.device_status.setText(f"Device: {label}")
        self.model_bar.set_device(text)
        on_cuda = resolved.type == "cuda"
        self.gpu_memory_status.setVisible(on_cuda)
        if on_cuda:
            self.gpu_timer.start()
            self.refresh_gpu_memory()
        else:
            self.gpu_timer.stop()

    def refresh_gpu_memory(self) -> None:
        if not torch.cuda.is_available():
            return
        allocated, reserved = torch.cuda.memory_allocated() / 2**20, torch.cuda.memory_reserved() / 2**20
        self.gpu_memory_status.setText(f"GPU memory: {allocated:.0f} MiB allocated, {reserved:.0f} MiB reserved")

    # ------------------------------------------------------------------ view
    def export_image(self, path: str | Path | None = None) -> Path | None:
        """Save the current panel as a PNG at the screen's device-pixel ratio."""
        panel = self.current_panel()
        if path is None:
            suggested = f"{panel.objectName()}.png"
            path, _ = QFileDialog.getSaveFileName(self, "Export image of this panel", suggested, "PNG images (*.png)")
            if not path:
                return None
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        if not panel.grab().save(str(path), "PNG"):
            QMessageBox.warning(self, "Export failed", literal(f"Could not write {path}."))
            return None
        self.state.message.emit(f"Exported {path}")
        return path

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: large fonts, high contrast, thick plot lines (toggle back restores)."""
        self.presentation.set_enabled(bool(on))
        self.presentation_action.setChecked(bool(on))
        self.model_bar.set_presentation(bool(on))
        for panel in self.panels.values():
            if hasattr(panel, "set_presentation"):
                panel.set_presentation(bool(on))

    def show_help(self, name: str | None = None) -> HelpDialog:
        if self.help_dialog is None:
            topics = [HelpTopic(n, self.titles[n], getattr(p, "help_text", "")) for n, p in self.panels.items()]
            self.help_dialog = HelpDialog(topics, self.shortcut_list(), self)
        self.help_dialog.show_topic(name or self.current_panel().objectName())
        return self.help_dialog

    def show_message(self, text: str) -> None:
        """A message in the status bar for 10 s; one too long for it (or of several lines, like the
        folders searched for a missing dataset) becomes the status bar's notice instead: its first
        sentence, the whole text under "Details…"."""
        bar = self.statusBar()
        room = (bar.width() if bar.isVisible() else self.width()) - sum(
            w.width() + 8 for w in (self.gpu_memory_status, self.device_status) if w.isVisible()) - 16
        if fits_status_bar(text, bar.fontMetrics(), room):
            bar.showMessage(text, 10_000)
        else:
            bar.clearMessage()
            self.message_notice.show_message(text)

    def fit_to_screen(self) -> None:
        """Size and place the window so that it, frame included, fits its screen's available area
        (a first launch on a 1280×800 laptop: the status bar stays on screen). The real frame is
        known once the window is shown; before that :data:`FRAME_GUESS` stands in for it."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        handle = self.windowHandle()
        frame = handle.frameMargins() if handle is not None and self.isVisible() else QMargins()
        self._refit_when_framed = frame.isNull()     # the window manager has not told the frame yet
        self.setGeometry(first_window_geometry(screen.availableGeometry(), FRAME_GUESS if frame.isNull() else frame))

    def event(self, event) -> bool:  # noqa: D102 (Qt override)
        # The window manager tells the frame around the first paint (no move event follows): fit
        # the window to the screen again, exactly, once it is known.
        if self._refit_when_framed and event.type() in (QEvent.Type.Paint, QEvent.Type.Move,
                                                        QEvent.Type.WindowActivate):
            handle = self.windowHandle()
            if handle is not None and not handle.frameMargins().isNull():
                self._refit_when_framed = False
                QTimer.singleShot(0, self, self.fit_to_screen)       # not from inside a paint
        return super().event(event)

    def shortcut_list(self) -> list[tuple[str, str]]:
        """(action, keys) for every menu entry that has a shortcut."""
        rows = []
        for menu_action in self.menuBar().actions():
            for action in menu_action.menu().actions():
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                if keys and not action.isSeparator():
                    rows.append((action.text().replace("&", "").rstrip("…"), keys))
        return rows

    def _about(self) -> None:
        QMessageBox.about(self, "About Discrete Latent Explorer",
                          "<b>Discrete Latent Explorer</b><p>Train, inspect and teach discrete latent models: "
                          "VQ-VAE, PixelCNN priors, Gumbel-Softmax.</p>")

    # ------------------------------------------------------------------ settings and closing
    def save_settings(self, settings: QSettings | None = None) -> None:
        s = settings or settings_store()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/panel", self.current_panel().objectName())
        for name, panel in self.panels.items():
            if hasattr(panel, "save_settings"):
                s.beginGroup(f"panels/{name}")
                panel.save_settings(s)
                s.endGroup()
        s.sync()

    def restore_settings(self, settings: QSettings | None = None) -> None:
        s = settings or settings_store()
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.geometry_restored = bool(self.restoreGeometry(geometry))
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        for name, panel in self.panels.items():
            if hasattr(panel, "restore_settings"):
                s.beginGroup(f"panels/{name}")
                panel.restore_settings(s)
                s.endGroup()
        panel = s.value("window/panel", "trainPanel", type=str)
        if panel in self.panels:
            self.show_panel(panel)

    def ask_close_during_training(self) -> str:
        """'save', 'discard' or 'cancel': what to do with a run when the window closes."""
        return self._ask_save_discard_cancel(
            "closeDuringTrainingDialog", "Training is running",
            "Training is still running. Stop it and save the model, discard the run, or keep training?",
            ("Stop and save…", "stopAndSaveButton"), default="cancel")

    def ask_save_unsaved_changes(self) -> str:
        """'save', 'discard' or 'cancel': what to do with a trained model nobody has saved yet."""
        return self._ask_save_discard_cancel(
            "unsavedChangesDialog", "Save the trained model?",
            "The model has changed since it was last saved (it was trained). Save it before quitting, "
            "or discard the changes?", ("Save…", "saveButton"), default="save")

    def _ask_save_discard_cancel(self, object_name: str, title: str, text: str, save_button: tuple[str, str],
                                 default: str) -> str:
        """A modal question with Save / Discard / Cancel buttons (Esc = Cancel); returns 'save', 'discard'
        or 'cancel'."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self)
        box.setObjectName(object_name)
        box.setAccessibleName(title)
        buttons = {"save": box.addButton(save_button[0], QMessageBox.ButtonRole.AcceptRole),
                   "discard": box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole),
                   "cancel": box.addButton(QMessageBox.StandardButton.Cancel)}
        for answer, name in (("save", save_button[1]), ("discard", "discardButton"), ("cancel", "cancelButton")):
            buttons[answer].setObjectName(name)
        box.setDefaultButton(buttons[default])
        box.setEscapeButton(buttons["cancel"])
        box.exec()
        clicked = box.clickedButton()
        return next((answer for answer, button in buttons.items() if button is clicked), "cancel")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.train_panel.is_running:
            choice = self.ask_close_during_training()
            if choice == "cancel":
                event.ignore()
                return
            if not self.train_panel.finish_now(keep=choice == "save"):
                self.state.message.emit("Training is still finishing its step; close again in a moment.")
                event.ignore()
                return
            if choice == "save" and not self._save_before_close():
                event.ignore()
                return
        elif self.model_bar.modified and self.state.bundle is not None:
            choice = self.ask_save_unsaved_changes()
            if choice == "cancel" or (choice == "save" and not self._save_before_close()):
                event.ignore()
                return
        self.model_bar.forget_changes()
        if self.remember:
            self.save_settings()
        self.gpu_timer.stop()
        if self.help_dialog is not None:
            self.help_dialog.close()
        shutdown_workers()
        super().closeEvent(event)
        self.closed.emit()

    def _save_before_close(self) -> bool:
        """Ask where to save the model just trained and write it (synchronously: we are closing)."""
        if self.state.bundle is None:
            return True
        path = self.model_bar.ask_save_path()
        return path is not None and self.model_bar.save_now(path)
