"""The training settings form: Data, VQ-VAE and Prior tabs generated from the core's configs."""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from explorer.core.data import FOLDER_PREFIX, DataConfig, default_data_root, describe_split

from .config_form import ConfigForm
from .settings import TrainSettings
from ..widgets.plain_text import plain


def _scrolled(*groups: QWidget) -> QScrollArea:
    page = QWidget()
    layout = QVBoxLayout(page)
    for group in groups:
        layout.addWidget(group)
    layout.addStretch(1)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(page)
    return area


def _group(title: str, form: ConfigForm) -> QGroupBox:
    box = QGroupBox(title)
    QVBoxLayout(box).addWidget(form)
    return box


def data_folder_text(data: DataConfig) -> str:
    """Where the data are read from and which images are held out, in words."""
    held_out = f" Held out for validation: {describe_split(data)}."
    if data.name.strip().lower().startswith(FOLDER_PREFIX):
        return f"Images are read from {data.name.strip()[len(FOLDER_PREFIX):].strip()}." + held_out
    if data.root:
        return f"Data folder: {data.root}." + held_out
    return (f"Data folder (default, used while the folder field is empty): {default_data_root()}. "
            "If the files are not there, Start offers to download them." + held_out)


class SettingsForm(QTabWidget):
    """Tabs of generated forms bound to a :class:`TrainSettings` (both ways)."""

    changed = Signal(object)        # the new TrainSettings
    invalid = Signal(str)           # a refused edit, in plain words

    TAB_FOR_MODE = {"vqvae": 1, "prior": 2}

    def __init__(self, settings: TrainSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainSettingsTabs")
        self.setAccessibleName("Training settings")
        s = settings or TrainSettings()
        self._settings = s
        self.data_form = ConfigForm(s.data, "data", "Dataset")
        self.vqvae_model_form = ConfigForm(s.vqvae.model, "vqvaeModel", "VQ-VAE model")
        self.vqvae_train_form = ConfigForm(s.vqvae, "vqvaeTraining", "VQ-VAE training")
        self.prior_model_form = ConfigForm(s.prior.model, "priorModel", "Prior model")
        self.prior_train_form = ConfigForm(s.prior, "priorTraining", "Prior training")
        self.data_folder_label = plain(QLabel(self))      # a folder path from the bundle or the user
        self.data_folder_label.setObjectName("dataFolderLabel")
        self.data_folder_label.setAccessibleName("Where the data are read from")
        self.data_folder_label.setWordWrap(True)
        self.data_folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addTab(_scrolled(_group("Dataset", self.data_form), self.data_folder_label), "Data")
        self.addTab(_scrolled(_group("Model", self.vqvae_model_form),
                              _group("Training", self.vqvae_train_form)), "VQ-VAE")
        self.addTab(_scrolled(_group("Model", self.prior_model_form),
                              _group("Training", self.prior_train_form)), "Prior")
        self.setTabToolTip(0, "Which images to train on, and the held-out split")
        self.setTabToolTip(1, "The VQ-VAE's architecture and its optimisation")
        self.setTabToolTip(2, "The PixelCNN prior over code grids (K and the grid size come from the VQ-VAE)")
        for form in self.forms():
            form.changed.connect(self._collect)
            form.invalid.connect(self._relay_invalid)
        self._show_data_folder()

    def forms(self) -> tuple[ConfigForm, ...]:
        return (self.data_form, self.vqvae_model_form, self.vqvae_train_form,
                self.prior_model_form, self.prior_train_form)

    def needed_width(self) -> int:
        """Width that shows every tab's form without a horizontal scroll bar."""
        need = 0
        for i in range(self.count()):
            area = self.widget(i)
            page = area.widget()
            page.ensurePolished()
            need = max(need, page.sizeHint().width() + area.verticalScrollBar().sizeHint().width())
        return need + 8

    def settings(self) -> TrainSettings:
        return self._settings

    def _relay_invalid(self, message: str) -> None:
        """A refusal, or "" once a refused value is fixed and no form refuses anything any more."""
        if not message:
            message = next((m for form in self.forms() for m in form.errors.values()), "")
        self.invalid.emit(message)

    def set_settings(self, settings: TrainSettings) -> None:
        """Show ``settings`` in every field (no ``changed`` signal)."""
        self._settings = settings
        self.data_form.set_config(settings.data)
        self.vqvae_model_form.set_config(settings.vqvae.model)
        self.vqvae_train_form.set_config(settings.vqvae)
        self.prior_model_form.set_config(settings.prior.model)
        self.prior_train_form.set_config(settings.prior)
        self._show_data_folder()

    def _show_data_folder(self) -> None:
        self.data_folder_label.setText(data_folder_text(self._settings.data))

    def _collect(self, *_: object) -> None:
        s = dataclasses.replace(self._settings)
        s.data = self.data_form.config()
        s.vqvae = dataclasses.replace(self.vqvae_train_form.config(), model=self.vqvae_model_form.config())
        s.prior = dataclasses.replace(self.prior_train_form.config(), model=self.prior_model_form.config())
        self._settings = s
        self._show_data_folder()
        self.changed.emit(s)
