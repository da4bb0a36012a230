"""The temperature lambda on a log-scale slider from 0.01 to 10, with the notes' three values one click away."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from explorer.core.gumbel_lab import MAX_TEMPERATURE, MIN_TEMPERATURE, NOTES_TEMPERATURES

from ..widgets.naming import named

TICKS = 300                        # slider positions: 100 per decade


def slider_to_temperature(position: int) -> float:
    lo, hi = math.log10(MIN_TEMPERATURE), math.log10(MAX_TEMPERATURE)
    return 10 ** (lo + (hi - lo) * position / TICKS)


def temperature_to_slider(value: float) -> int:
    lo, hi = math.log10(MIN_TEMPERATURE), math.log10(MAX_TEMPERATURE)
    value = min(MAX_TEMPERATURE, max(MIN_TEMPERATURE, value))
    return int(round((math.log10(value) - lo) / (hi - lo) * TICKS))


class TemperatureControl(QWidget):
    """Slider (log scale), the value, and preset buttons λ = 1.0, 0.5, 0.1."""

    temperature_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gumbelTemperatureControl")
        self.setAccessibleName("Temperature")
        self.value = 1.0
        self.slider = named(QSlider(Qt.Orientation.Horizontal), "gumbelTemperature", "Temperature lambda",
                            "λ on a log scale from 0.01 to 10: λ → 0 one-hot samples, λ → ∞ uniform")
        self.slider.setRange(0, TICKS)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(50)
        self.slider.setValue(temperature_to_slider(self.value))
        self.label = named(QLabel(), "gumbelTemperatureValue", "Temperature value")
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("λ = 0.000 ") + 4)
        self.presets = QWidget()
        named(self.presets, "gumbelPresets", "Temperature presets from the notes")
        row = QHBoxLayout(self.presets)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("notes:"))
        self.preset_buttons = []
        for value in NOTES_TEMPERATURES:
            button = named(QPushButton(f"λ = {value:g}"), f"gumbelPreset{str(value).replace('.', '_')}",
                           f"Set temperature to {value:g}")
            button.clicked.connect(lambda _=False, v=value: self.set_temperature(v))
            row.addWidget(button)
            self.preset_buttons.append(button)
        top = QHBoxLayout()
        top.addWidget(QLabel("0.01"))
        top.addWidget(self.slider, 1)
        top.addWidget(QLabel("10"))
        top.addWidget(self.label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.presets)
        self.slider.valueChanged.connect(self._slider_moved)
        self._show()

    def set_temperature(self, value: float) -> None:
        """Set λ exactly (clamped to [0.01, 10]); the slider follows to its nearest position."""
        value = float(min(MAX_TEMPERATURE, max(MIN_TEMPERATURE, value)))
        self.slider.blockSignals(True)
        self.slider.setValue(temperature_to_slider(value))
        self.slider.blockSignals(False)
        self._apply(value)

    def _slider_moved(self, position: int) -> None:
        self._apply(slider_to_temperature(position))

    def _apply(self, value: float) -> None:
        if value == self.value:
            self._show()
            return
        self.value = value
        self._show()
        self.temperature_changed.emit(value)

    def _show(self) -> None:
        self.label.setText(f"λ = {self.value:.3g}")
