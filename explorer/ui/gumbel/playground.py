"""Temperature playground: the notes' three ways to sample from a categorical, side by side.

one-hot(argmax log pi) | softmax(log pi / lambda) | y = softmax((log pi + g)/lambda) | the noise g.
One noise draw g is kept while lambda moves (the same sample sharpens); Resample draws new noise
with the next seed; Animate resamples continuously. Hard shows the straight-through sample.
Below: the Gumbel-max histogram and curves over lambda (computed on a short timer after an edit).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from explorer.core.gumbel_lab import (gumbel_max_check, gumbel_noise, playground_view, softmax_jacobian_vjp,
                                      temperature_curves)

from ..widgets.naming import named
from .bar_chart import BarChart
from .logits_editor import LogitsEditor
from .max_histogram import MaxHistogram
from .plot_style import COLORS
from .temperature_curves import TemperatureCurvesPlot
from .temperature_control import TemperatureControl

STATS_SEED = 0                # the histogram and the curves use this seed (shown in their titles)
ANIMATE_MS = 350              # Animate: one new noise draw this often
STATS_DELAY_MS = 120          # recompute the statistics this long after the last edit
SIDE_WIDTH = {False: (340, 460), True: (480, 480)}   # the controls column (min, max), normal / presentation


class Playground(QWidget):
    """Logits, lambda and noise on the left; the bar charts, histogram and curves on the right."""

    temperature_changed = Signal(float)
    logits_changed = Signal(object)           # np.ndarray (K,)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gumbelPlayground")
        self.setAccessibleName("Temperature playground")
        self.editor = LogitsEditor()
        self.temperature = TemperatureControl()
        self.seed_spin = named(QSpinBox(), "gumbelSeed", "Noise seed",
                               "The seed of the Gumbel noise g shown (Resample moves to the next seed)")
        self.seed_spin.setRange(0, 999_999)
        self.seed_spin.setPrefix("seed ")
        self.resample_button = named(QPushButton("Resample"), "gumbelResample", "Resample the Gumbel noise",
                                     "Draw new noise g (the next seed)")
        self.animate_button = named(QPushButton("Animate"), "gumbelAnimate", "Animate: resample continuously",
                                    f"Draw new noise every {ANIMATE_MS} ms")
        self.animate_button.setCheckable(True)
        self.hard_check = named(QCheckBox("Hard (straight-through)"), "gumbelHard", "Hard straight-through sample",
                                "Forward: one-hot argmax of y; backward: the soft sample's gradient")
        self.argmax_bars = BarChart("argmax (one-hot)", "gumbelArgmaxBars", "Hard argmax, one-hot",
                                    COLORS["grey"])
        self.softmax_bars = BarChart("softmax(log π/λ)", "gumbelSoftmaxBars", "Softmax at temperature lambda",
                                     COLORS["sky"])
        self.sample_bars = BarChart("sample y", "gumbelSampleBars", "Gumbel-Softmax sample y", COLORS["orange"])
        self.noise_bars = BarChart("noise g", "gumbelNoiseBars", "Gumbel noise g", COLORS["purple"],
                                   y_range=None)
        self.backward_bars = BarChart("backward", "gumbelBackwardBars", "Straight-through backward gradient",
                                      COLORS["green"], y_range=None, y_label="∂ / ∂logits")
        self.histogram = MaxHistogram()
        self.curves = TemperatureCurvesPlot()
        self.explain = named(QLabel(), "gumbelSampleExplanation", "What the sample shows")
        self.explain.setWordWrap(True)
        self._layout()
        self.noise = gumbel_noise(len(self.editor.logits), self.seed_spin.value())
        self.timer = QTimer(self)
        self.timer.setInterval(ANIMATE_MS)
        self.timer.timeout.connect(self.resample)
        self.stats_timer = QTimer(self)
        self.stats_timer.setSingleShot(True)
        self.stats_timer.setInterval(STATS_DELAY_MS)
        self.stats_timer.timeout.connect(self.refresh_statistics)
        self.editor.logits_changed.connect(self._logits_changed)
        self.temperature.temperature_changed.connect(self._temperature_changed)
        self.seed_spin.valueChanged.connect(self._seed_changed)
        self.resample_button.clicked.connect(self.resample)
        self.animate_button.toggled.connect(self.set_animating)
        self.hard_check.toggled.connect(lambda _: self.refresh())
        self.refresh()
        self.refresh_statistics()

    def _layout(self) -> None:
        left = QVBoxLayout()
        logits_box = QGroupBox("Logits log π")
        QVBoxLayout(logits_box).addWidget(self.editor)
        temp_box = QGroupBox("Temperature λ")
        QVBoxLayout(temp_box).addWidget(self.temperature)
        noise_box = QGroupBox("Gumbel noise g = −log(−log U)")
        grid = QGridLayout(noise_box)
        grid.addWidget(self.seed_spin, 0, 0)
        grid.addWidget(self.resample_button, 0, 1)
        grid.addWidget(self.animate_button, 1, 0)
        grid.addWidget(self.hard_check, 1, 1)
        for box in (logits_box, temp_box, noise_box):
            left.addWidget(box)
        left.addWidget(self.explain)
        left.addStretch(1)
        side = QWidget()
        side.setLayout(left)
        self.side = side
        side.setMinimumWidth(SIDE_WIDTH[False][0])
        side.setMaximumWidth(SIDE_WIDTH[False][1])
        self.charts = QGridLayout()
        self._place_charts(False)
        stats = QHBoxLayout()
        stats.addWidget(self.histogram, 1)
        stats.addWidget(self.curves, 1)
        right = QVBoxLayout()
        right.addLayout(self.charts, 1)
        right.addLayout(stats, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(side)
        layout.addLayout(right, 1)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """The controls column is as tall as its wrapped text needs at its width (the scroll area
        sizes the page by minimum sizes, which do not count word wrap: the logits plot was squeezed)."""
        super().resizeEvent(event)
        layout = self.side.layout()
        if layout.hasHeightForWidth():
            need = layout.totalHeightForWidth(self.side.width())
            if need != self.side.minimumHeight():
                self.side.setMinimumHeight(need)

    def _place_charts(self, presentation: bool) -> None:
        """The bar charts in three columns: titles and tick labels need the width (more so in presentation mode)."""
        charts = (self.argmax_bars, self.softmax_bars, self.sample_bars, self.noise_bars, self.backward_bars)
        columns = 3
        for chart in charts:
            self.charts.removeWidget(chart)
        for i in range(max(self.charts.columnCount(), len(charts))):
            self.charts.setColumnStretch(i, 0)
        for i, chart in enumerate(charts):
            self.charts.addWidget(chart, i // columns, i % columns)
            self.charts.setColumnStretch(i % columns, 1)

    # -- state ------------------------------------------------------------------------------
    @property
    def logits(self) -> np.ndarray:
        return self.editor.logits.copy()

    @property
    def lam(self) -> float:
        return self.temperature.value

    def current_sample(self) -> np.ndarray:
        """The y shown in the sample chart, (K,): the soft sample, or its one-hot forward value when Hard."""
        return self.sample_bars.values.copy()

    def set_temperature(self, value: float) -> None:
        self.temperature.set_temperature(value)

    def resample(self) -> None:
        """New noise: the next seed."""
        self.seed_spin.setValue((self.seed_spin.value() + 1) % (self.seed_spin.maximum() + 1))

    def set_animating(self, on: bool) -> None:
        if self.animate_button.isChecked() != on:
            self.animate_button.setChecked(on)
            return
        (self.timer.start() if on else self.timer.stop())

    def _seed_changed(self, seed: int) -> None:
        self.noise = gumbel_noise(len(self.editor.logits), seed)
        self.refresh()

    def _logits_changed(self, logits: np.ndarray) -> None:
        if len(logits) != len(self.noise):
            self.noise = gumbel_noise(len(logits), self.seed_spin.value())
        self.refresh()
        self.stats_timer.start()
        self.logits_changed.emit(logits)

    def _temperature_changed(self, value: float) -> None:
        self.refresh()
        self.curves.set_temperature(value)
        self.temperature_changed.emit(value)

    # -- drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        lam, hard = self.lam, self.hard_check.isChecked()
        view = playground_view(self.logits, self.noise, lam)
        self.argmax_bars.set_values(view.argmax)
        self.softmax_bars.set_values(view.softmax)
        self.noise_bars.set_values(view.noise)
        winner = int(view.hard_sample.argmax())
        if hard:
            self.sample_bars.set_values(view.hard_sample, ghost=view.soft_sample)
            self.sample_bars.set_title("forward: one-hot")
            # backward: the gradient of the chosen output y[k*] w.r.t. the logits is the soft sample's
            grad = softmax_jacobian_vjp(view.soft_sample, np.eye(len(view.soft_sample))[winner], lam)
            self.backward_bars.set_values(grad)
            self.backward_bars.set_title(f"backward ∂y<sub>{winner}</sub>")
        else:
            self.sample_bars.set_values(view.soft_sample)
            self.sample_bars.set_title("sample y")
        self.backward_bars.setVisible(hard)
        self.explain.setText(
            f"<b>seed {self.seed_spin.value()}</b>: y = softmax((log π + g)/λ) at λ = {lam:.3g}; "
            f"max y = {view.soft_sample.max():.3f}. "
            + ("Hard: the next layer sees the one-hot vector (bars; dashed: the soft y), but gradients "
               "flow as if it were the soft y: y<sub>hard</sub> − sg[y] + y. The backward chart is the "
               "gradient of the chosen output, ∂y<sub>k</sub>/∂logits = y<sub>k</sub>(e<sub>k</sub> − y)/λ."
               if hard else
               "λ → 0: one-hot; λ → ∞: uniform. The winner is always argmax(log π + g)."))
        self.curves.set_temperature(lam)

    def refresh_statistics(self) -> None:
        """Histogram of 10 000 Gumbel-max draws and curves over lambda (about 40 ms)."""
        logits = self.logits
        self.histogram.set_check(gumbel_max_check(logits, draws=10_000, seed=STATS_SEED))
        self.curves.set_curves(temperature_curves(logits, draws=1000, seed=STATS_SEED), len(logits))
        self.curves.set_temperature(self.lam)

    def stop(self) -> None:
        self.timer.stop()
        self.stats_timer.stop()

    def set_presentation(self, on: bool) -> None:
        self.side.setMinimumWidth(SIDE_WIDTH[on][0])
        self.side.setMaximumWidth(SIDE_WIDTH[on][1])
        self._place_charts(on)
        self.editor.set_presentation(on)
        for plot in (self.argmax_bars, self.softmax_bars, self.sample_bars, self.noise_bars, self.backward_bars,
                     self.histogram, self.curves):
            plot.set_presentation(on)
