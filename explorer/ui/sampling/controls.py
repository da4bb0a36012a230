"""The Sampling panel's controls: transport (play, step, back, reset, run to end, speed), the
sampling settings (temperature, top-k, greedy, seed, class, batch) and export.

Temperature T rescales the logits, p ∝ exp(logit / T) (notes, "PixelCNN: Inference"): T < 1
sharpens the conditional, T > 1 flattens it; greedy takes the argmax (T = 0).
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QStyle,
                               QStyleOptionButton, QVBoxLayout, QWidget)

from explorer.core.sampling_session import MAX_BATCH, SamplingSettings
from explorer.ui.widgets.naming import named

TEMPERATURES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)   # non-uniform
SPEEDS = (1, 2, 4, 8, 15, 30, 60, 0)          # steps per second; 0 = as fast as the machine goes


PLAY_TEXT, PAUSE_TEXT = "▶ Play", "❚❚ Pause"


def speed_text(speed: int) -> str:
    return "max" if speed == 0 else f"{speed}/s"


class SteadyButton(QPushButton):
    """A push button as wide as the widest of its ``texts`` in the current font and style, so
    switching between them (Play / Pause) never moves the buttons beside it."""

    def __init__(self, texts: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(texts[0], parent)
        self.texts = texts

    def _hint_for(self, text: str) -> QSize:
        """QPushButton::sizeHint's computation for ``text`` (the style adds padding, frame, minimum)."""
        opt = QStyleOptionButton()
        self.initStyleOption(opt)
        opt.text = text
        size = self.fontMetrics().size(Qt.TextShowMnemonic, text)
        opt.rect.setSize(size)
        return self.style().sizeFromContents(QStyle.CT_PushButton, opt, size, self)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        hints = [self._hint_for(t) for t in self.texts]
        return QSize(max(h.width() for h in hints), max(h.height() for h in hints))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return self.sizeHint()


class SamplingControls(QWidget):
    """Two rows of controls; emits what the user asked for, holds no sampling state."""

    play_toggled = Signal()
    step_requested = Signal()
    step_back_requested = Signal()
    reset_requested = Signal()
    run_to_end_requested = Signal()
    speed_changed = Signal(int)                 # steps per second, 0 = max
    settings_changed = Signal()                 # temperature, top-k, greedy, seed, class or batch
    export_gif_requested = Signal()
    export_png_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingControls", "Sampling controls")
        self.play = named(SteadyButton((PLAY_TEXT, PAUSE_TEXT)), "samplingPlay", "Play or pause the sampling animation",
                          "Space: play / pause")
        self.step_back = named(QPushButton("◀ Back"), "samplingStepBack", "Step back",
                               "Left arrow: undo one step exactly (the same random numbers are reused)")
        self.step = named(QPushButton("Step ▶"), "samplingStep", "Step", "Right arrow: sample the next position")
        self.run_to_end = named(QPushButton("Run to end"), "samplingRunToEnd", "Run to end",
                                "Sample every remaining position at once")
        self.reset = named(QPushButton("Reset"), "samplingReset", "Reset", "Home: back to the empty grid")
        self.speed = named(QSlider(Qt.Horizontal), "samplingSpeed", "Animation speed",
                           "Steps per second, from 1 to as fast as this machine goes")
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(SPEEDS.index(4))
        self.speed.setMinimumWidth(60)
        self.speed_label = QLabel()
        self.export_gif = named(QPushButton("Export GIF…"), "samplingExportGif", "Export the animation as a GIF",
                                "One frame per step, 1280×720 (slides)")
        self.export_png = named(QPushButton("Export PNG…"), "samplingExportPng", "Export the current frame as PNG")

        self.temperature = named(QSlider(Qt.Horizontal), "samplingTemperature", "Temperature",
                                 "T in softmax(logits / T): below 1 sharper, above 1 flatter")
        self.temperature.setRange(0, len(TEMPERATURES) - 1)
        self.temperature.setValue(TEMPERATURES.index(1.0))
        self.temperature.setMinimumWidth(60)
        self.temperature_label = QLabel()
        self.top_k = named(QSpinBox(), "samplingTopK", "Top-k", "Keep only the k most likely codes (off: all K)")
        self.top_k.setSpecialValueText("off")
        self.greedy = named(QCheckBox("greedy"), "samplingGreedy", "Greedy (argmax)",
                            "Take the most likely code at every position (temperature 0)")
        self.seed = named(QSpinBox(), "samplingSeed", "Seed", "torch.Generator().manual_seed(seed)")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setMinimumWidth(70)
        self.seed.setMaximumWidth(150)
        self.label_combo = named(QComboBox(), "samplingClass", "Class", "The class a class-conditional prior draws")
        self.batch = named(QSpinBox(), "samplingBatch", "Grids in the batch", "Sample this many grids together")
        self.batch.setRange(1, MAX_BATCH)
        self.batch.setValue(16)
        self.index = named(QSpinBox(), "samplingIndex", "Animated grid", "Which grid of the batch is animated")
        self.index.setRange(0, 15)

        top = QHBoxLayout()
        for w in (self.play, self.step_back, self.step, self.run_to_end, self.reset):
            top.addWidget(w)
        top.addSpacing(12)
        top.addWidget(QLabel("speed"))
        top.addWidget(self.speed, 1)
        top.addWidget(self.speed_label)
        top.addSpacing(12)
        top.addWidget(self.export_gif)
        top.addWidget(self.export_png)
        second = QHBoxLayout()
        second.addWidget(self.temperature_label)
        second.addWidget(self.temperature, 1)
        for text, w in (("top-k", self.top_k), ("", self.greedy), ("seed", self.seed), ("class", self.label_combo),
                        ("batch", self.batch), ("animate #", self.index)):
            if text:
                second.addWidget(QLabel(text))
            second.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(second)

        self.play.clicked.connect(self.play_toggled)
        self.step.clicked.connect(self.step_requested)
        self.step_back.clicked.connect(self.step_back_requested)
        self.reset.clicked.connect(self.reset_requested)
        self.run_to_end.clicked.connect(self.run_to_end_requested)
        self.export_gif.clicked.connect(self.export_gif_requested)
        self.export_png.clicked.connect(self.export_png_requested)
        self.speed.valueChanged.connect(self._speed_moved)
        self.temperature.valueChanged.connect(self._temperature_moved)
        self.greedy.toggled.connect(self._greedy_toggled)
        self.batch.valueChanged.connect(self._batch_changed)
        for signal in (self.top_k.valueChanged, self.seed.valueChanged, self.label_combo.currentIndexChanged,
                       self.index.valueChanged):
            signal.connect(self.settings_changed)
        self._speed_moved(self.speed.value())
        self._temperature_moved(self.temperature.value(), emit=False)

    # -- model ------------------------------------------------------------------------------
    def set_model(self, num_codes: int, num_classes: int) -> None:
        """Adapt top-k and the class selector to a prior (no settings_changed emitted)."""
        self.blockSignals(True)
        self.top_k.setRange(0, num_codes)
        self.label_combo.clear()
        if num_classes:
            self.label_combo.addItems([f"{c}" for c in range(num_classes)])
        else:
            self.label_combo.addItem("unconditional")
        self.label_combo.setEnabled(bool(num_classes))
        self.blockSignals(False)

    def settings(self) -> SamplingSettings:
        conditional = self.label_combo.isEnabled()
        return SamplingSettings(temperature=self.temperature_value(), top_k=self.top_k.value() or None,
                                greedy=self.greedy.isChecked(), seed=self.seed.value(),
                                label=self.label_combo.currentIndex() if conditional else None,
                                n=self.batch.value(), index=min(self.index.value(), self.batch.value() - 1))

    def temperature_value(self) -> float:
        return TEMPERATURES[self.temperature.value()]

    def speed_value(self) -> int:
        return SPEEDS[self.speed.value()]

    def set_temperature(self, value: float) -> None:
        """Move the slider to the listed temperature nearest ``value``."""
        self.temperature.setValue(min(range(len(TEMPERATURES)), key=lambda i: abs(TEMPERATURES[i] - value)))

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("sampling/temperature", self.temperature_value())
        settings.setValue("sampling/speed", self.speed.value())
        settings.setValue("sampling/seed", self.seed.value())
        settings.setValue("sampling/batch", self.batch.value())

    def restore_settings(self, settings: QSettings) -> None:
        try:
            self.set_temperature(float(settings.value("sampling/temperature", 1.0)))
            self.speed.setValue(int(settings.value("sampling/speed", self.speed.value())))
            self.seed.setValue(int(settings.value("sampling/seed", 0)))
            self.batch.setValue(int(settings.value("sampling/batch", self.batch.value())))
        except (TypeError, ValueError):
            pass

    def set_playing(self, playing: bool) -> None:
        self.play.setText(PAUSE_TEXT if playing else PLAY_TEXT)

    def set_progress(self, t: int, total: int) -> None:
        self.step_back.setEnabled(t > 0)
        self.step.setEnabled(t < total)
        self.run_to_end.setEnabled(t < total)

    # -- slots ------------------------------------------------------------------------------
    def _speed_moved(self, pos: int) -> None:
        self.speed_label.setText(speed_text(SPEEDS[pos]))
        self.speed_changed.emit(SPEEDS[pos])

    def _temperature_moved(self, pos: int, emit: bool = True) -> None:
        self.temperature_label.setText(f"T = {TEMPERATURES[pos]:g}")
        if emit:
            self.settings_changed.emit()

    def _greedy_toggled(self, on: bool) -> None:
        self.temperature.setEnabled(not on)
        self.temperature_label.setText("T = 0 (argmax)" if on else f"T = {self.temperature_value():g}")
        self.settings_changed.emit()

    def _batch_changed(self, n: int) -> None:
        self.index.blockSignals(True)
        self.index.setRange(0, n - 1)
        self.index.blockSignals(False)
        self.settings_changed.emit()
