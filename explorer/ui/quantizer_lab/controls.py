"""The lab's left column: preset, methods, K, steps, data, Start / Pause / Stop and progress."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from explorer.core.data import DATASETS, FOLDER_PREFIX
from explorer.core.quantizer_lab import MAX_METHODS, METHODS, PRESETS

CODEBOOK_SIZES = (16, 32, 64, 128, 256, 512, 1024)
CUSTOM = "Custom"


def _name(widget, object_name: str, accessible: str):
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible)
    return widget


class LabControls(QWidget):
    """Choose 2-8 methods, one K, the steps and the data; run controls below."""

    start_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quantizerLabControls")
        self.setAccessibleName("Quantizer lab settings")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.preset = _name(QComboBox(), "quantizerLabPreset", "Preset")
        self.preset.addItems([CUSTOM, *PRESETS])
        self.preset.setToolTip("Textbook stories: each trains a few methods side by side in under a minute")
        layout.addWidget(QLabel("Preset"))
        layout.addWidget(self.preset)
        layout.addWidget(QLabel(f"Methods (2–{MAX_METHODS})"))
        self.methods = _name(QListWidget(), "quantizerLabMethods", "Methods to train")
        for name, method in METHODS.items():
            item = QListWidgetItem(method.label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(method.summary)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.methods.addItem(item)
        layout.addWidget(self.methods, 1)
        form = QFormLayout()
        self.num_codes = _name(QComboBox(), "quantizerLabCodes", "Codebook size K")
        for k in CODEBOOK_SIZES:
            self.num_codes.addItem(str(k), k)
        self.num_codes.setCurrentIndex(CODEBOOK_SIZES.index(64))
        self.num_codes.setToolTip("K for every method; FSQ's levels are chosen so that their product is K")
        self.steps = _name(QSpinBox(), "quantizerLabSteps", "Training steps")
        self.steps.setRange(10, 100_000)
        self.steps.setSingleStep(50)
        self.steps.setValue(300)
        self.dataset = _name(QComboBox(), "quantizerLabDataset", "Dataset")
        self.dataset.setEditable(True)
        self.dataset.addItems([*DATASETS, FOLDER_PREFIX])
        self.dataset.setToolTip("A dataset the Train panel can use: mnist, fashion-mnist, kmnist, cifar10 or "
                                "folder:PATH")
        form.addRow("Codebook size K", self.num_codes)
        form.addRow("Steps", self.steps)
        layout.addLayout(form)
        layout.addWidget(QLabel("Dataset"))
        layout.addWidget(self.dataset)
        root_row = QHBoxLayout()
        self.data_root = _name(QLineEdit(), "quantizerLabDataRoot", "Data folder")
        self.data_root.setPlaceholderText("default data folder")
        self.browse = _name(QPushButton("…"), "quantizerLabBrowse", "Choose the data folder")
        self.browse.setToolTip("Choose the data folder")
        self.browse.clicked.connect(self._choose_root)
        root_row.addWidget(self.data_root, 1)
        root_row.addWidget(self.browse)
        layout.addWidget(QLabel("Data folder"))
        layout.addLayout(root_row)
        buttons = QHBoxLayout()
        self.start_button = _name(QPushButton("Start"), "quantizerLabStart", "Start the lab")
        self.pause_button = _name(QPushButton("Pause"), "quantizerLabPause", "Pause or resume the lab")
        self.stop_button = _name(QPushButton("Stop"), "quantizerLabStop", "Stop the lab and measure")
        self.stop_button.setToolTip("End after the current step and measure every method on held-out images")
        for button, signal in ((self.start_button, self.start_clicked), (self.pause_button, self.pause_clicked),
                               (self.stop_button, self.stop_clicked)):
            button.clicked.connect(signal.emit)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.progress = _name(QProgressBar(), "quantizerLabProgress", "Lab progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status = _name(QLabel("Pick 2–8 methods or a preset, then Start."), "quantizerLabStatus", "Lab status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.preset.currentTextChanged.connect(self._apply_preset)
        self.methods.itemChanged.connect(self._method_toggled)
        self._applying = False
        self.set_running(False)
        self.preset.setCurrentText("collapse")

    # ------------------------------------------------------------------ values
    def chosen_methods(self) -> tuple[str, ...]:
        return tuple(self.methods.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.methods.count())
                     if self.methods.item(i).checkState() == Qt.CheckState.Checked)

    def set_methods(self, names) -> None:
        wanted = set(names)
        self._applying = True
        try:
            for i in range(self.methods.count()):
                item = self.methods.item(i)
                on = item.data(Qt.ItemDataRole.UserRole) in wanted
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        finally:
            self._applying = False

    def codebook_size(self) -> int:
        return int(self.num_codes.currentData())

    def set_codebook_size(self, k: int) -> None:
        index = self.num_codes.findData(int(k))
        if index >= 0:
            self.num_codes.setCurrentIndex(index)

    def set_running(self, running: bool, paused: bool = False) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        for widget in (self.preset, self.methods, self.num_codes, self.steps, self.dataset, self.data_root,
                       self.browse):
            widget.setEnabled(not running)

    # ------------------------------------------------------------------ slots
    def _apply_preset(self, name: str) -> None:
        if name in PRESETS:
            self.set_methods(PRESETS[name])

    def _method_toggled(self, _item) -> None:
        if not self._applying and self.preset.currentText() != CUSTOM:
            self.preset.blockSignals(True)
            self.preset.setCurrentText(CUSTOM)
            self.preset.blockSignals(False)

    def _choose_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.data_root.text())
        if folder:
            self.data_root.setText(folder)
