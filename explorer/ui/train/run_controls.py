"""What to train, on which device, and the Start / Pause / Stop buttons with a progress bar."""
from __future__ import annotations

import enum

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)
from superqt.utils import signals_blocked

from explorer.core.device import available_devices

from .settings import MODE_TITLES, MODES
from ..widgets.plain_text import plain


class RunState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"


class RunControls(QWidget):
    """The controls above the form; the panel connects its buttons and reads the selectors."""

    mode_changed = Signal(str)          # "vqvae" or "prior"
    device_changed = Signal(str)        # one of available_devices()
    continue_changed = Signal(bool)
    start_clicked = Signal()
    pause_clicked = Signal()            # pause or resume, depending on the state
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainRunControls")
        self.setAccessibleName("Training run controls")
        self.state = RunState.IDLE
        self.can_continue = True           # a loaded model exists that Start could continue

        self.mode_combo = QComboBox(self)
        for mode in MODES:
            self.mode_combo.addItem(MODE_TITLES[mode], mode)
        self.device_combo = QComboBox(self)
        for name in available_devices():
            self.device_combo.addItem(name, name)
        self.continue_check = QCheckBox("Continue from the loaded model's weights", self)
        self.plan_label = plain(QLabel(self))
        self.plan_label.setWordWrap(True)
        self.start_button = QPushButton("Start", self)
        self.pause_button = QPushButton("Pause", self)
        self.stop_button = QPushButton("Stop", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.status_label = plain(QLabel("", self))      # bundle names, data messages, errors
        self.status_label.setWordWrap(True)
        self._fit_labels()
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        names = {
            self.mode_combo: ("trainModeCombo", "What to train"),
            self.device_combo: ("deviceCombo", "Training device"),
            self.continue_check: ("continueCheck", "Continue from the loaded model"),
            self.plan_label: ("trainPlanLabel", "What Start will do"),
            self.start_button: ("startButton", "Start training"),
            self.pause_button: ("pauseButton", "Pause or resume training"),
            self.stop_button: ("stopButton", "Stop training"),
            self.progress: ("trainProgress", "Training progress"),
            self.status_label: ("trainStatusLabel", "Training status"),
        }
        for widget, (object_name, accessible) in names.items():
            widget.setObjectName(object_name)
            widget.setAccessibleName(accessible)
        self.mode_combo.setToolTip("Train the VQ-VAE, or a PixelCNN prior over the current VQ-VAE's codes")
        self.device_combo.setToolTip("Only the devices this machine has; auto prefers a GPU")
        self.start_button.setToolTip("Start training with the settings below")
        self.stop_button.setToolTip("Stop after the current step and keep the model trained so far")

        selectors = QFormLayout()
        selectors.addRow("Train", self.mode_combo)
        selectors.addRow("Device", self.device_combo)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(selectors)
        layout.addWidget(self.continue_check)
        layout.addWidget(self.plan_label)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)

        self.mode_combo.currentIndexChanged.connect(lambda _: self.mode_changed.emit(self.mode()))
        self.device_combo.currentIndexChanged.connect(lambda _: self.device_changed.emit(self.device()))
        self.continue_check.toggled.connect(self.continue_changed)
        self.start_button.clicked.connect(self.start_clicked)
        self.pause_button.clicked.connect(self.pause_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.set_state(RunState.IDLE)

    def _fit_labels(self) -> None:
        """Room for two lines of plan and three of status, in the current font."""
        line = self.fontMetrics().lineSpacing()
        self.plan_label.setMinimumHeight(2 * line + 2)
        self.status_label.setMinimumHeight(3 * line + 2)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:     # presentation mode
            self._fit_labels()

    # ------------------------------------------------------------------ selectors
    def mode(self) -> str:
        return self.mode_combo.currentData()

    def device(self) -> str:
        return self.device_combo.currentData()

    def set_choices(self, mode: str, device: str, continue_training: bool) -> None:
        """Show saved choices (no signals); an unavailable device falls back to auto."""
        with signals_blocked(self.mode_combo), signals_blocked(self.device_combo), \
                signals_blocked(self.continue_check):
            self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(mode)))
            self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(device)))
            self.continue_check.setChecked(continue_training)

    # ------------------------------------------------------------------ run state
    def set_state(self, state: RunState) -> None:
        self.state = state
        idle = state is RunState.IDLE
        self.start_button.setEnabled(idle)
        self.pause_button.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.pause_button.setText("Resume" if state is RunState.PAUSED else "Pause")
        self.stop_button.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        for widget in (self.mode_combo, self.device_combo):
            widget.setEnabled(idle)
        self.continue_check.setEnabled(idle and self.can_continue)

    def set_can_continue(self, possible: bool) -> None:
        """Whether there is a loaded model to continue from (else the checkbox is disabled)."""
        self.can_continue = possible
        self.continue_check.setEnabled(self.state is RunState.IDLE and possible)

    def set_progress(self, step: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        self.progress.setFormat(text)

    def set_busy(self, text: str) -> None:
        """An indeterminate bar while data load or codes are encoded."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.status_label.setText(text)
