"""Edit the logits log pi (K from 2 to 10): drag the bars or type in the spin boxes.

"Edit as probabilities" shows pi = softmax(logits) instead; dragging a bar or typing a value
sets that pi_k and rescales the others, and the logits become log pi.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox,
                               QVBoxLayout, QWidget)

from explorer.core.gumbel_lab import MAX_K, MIN_K, NOTES_LOGITS, softmax

from ..widgets.naming import named
from .plot_style import COLORS, StyledPlot

LOGIT_RANGE = 6.0                 # logits are edited in [-6, 6]
MIN_PROBABILITY = 1e-3


class _DragBox(pg.ViewBox):
    """A view box that turns presses and drags into "set bar k to height y"."""

    def __init__(self, on_drag) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self._on_drag = on_drag

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt override)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._on_drag(self.mapSceneToView(ev.scenePos()))

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (Qt override)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            self._drag_bar = int(round(self.mapSceneToView(ev.buttonDownScenePos()).x()))
        self._on_drag(self.mapSceneToView(ev.scenePos()), getattr(self, "_drag_bar", None))


class LogitsBars(StyledPlot):
    """The logits (or probabilities) as bars you can drag up and down."""

    bar_dragged = Signal(int, float)          # bar index, new height

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("logits log π (drag a bar)", "gumbelLogitBars", "Logits as draggable bars", x_label="k",
                         parent=parent, view_box=_DragBox(lambda *a: self._drag(*a)))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=pg.mkBrush(COLORS["orange"]), pen=None)
        self.addItem(self.bars)
        self.values = np.zeros(0)
        self.probabilities = False

    def set_values(self, values: np.ndarray, probabilities: bool) -> None:
        self.values = np.asarray(values, dtype=np.float64).copy()
        self.probabilities = probabilities
        k = len(self.values)
        self.bars.setOpts(x=np.arange(k), height=self.values)
        self.getPlotItem().getAxis("bottom").setTicks([[(i, str(i)) for i in range(k)]])
        self.setXRange(-0.6, k - 0.4, padding=0)
        self.setYRange(*((0.0, 1.0) if probabilities else (-LOGIT_RANGE, LOGIT_RANGE)), padding=0)
        self.set_title("π (drag a bar)" if probabilities else "logits log π (drag a bar)")

    def _drag(self, pos, bar: int | None = None) -> None:
        k = int(round(pos.x())) if bar is None else bar
        if 0 <= k < len(self.values):
            lo, hi = (MIN_PROBABILITY, 1.0 - MIN_PROBABILITY) if self.probabilities else (-LOGIT_RANGE, LOGIT_RANGE)
            self.bar_dragged.emit(k, float(np.clip(pos.y(), lo, hi)))


class LogitsEditor(QWidget):
    """K, one spin box per category and the draggable bars; emits the logits when they change."""

    logits_changed = Signal(object)           # np.ndarray (K,)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "gumbelLogits", "Logits editor",
              "The logits log π of a categorical distribution over K outcomes (the notes' example: 2.0, 0.5, 1.0)")
        self.logits = np.array(NOTES_LOGITS, dtype=np.float64)
        self.k_spin = named(QSpinBox(), "gumbelK", "Number of categories K", "K, from 2 to 10")
        self.k_spin.setRange(MIN_K, MAX_K)
        self.k_spin.setValue(len(self.logits))
        self.k_spin.setPrefix("K = ")
        self.prob_check = named(QCheckBox("edit as probabilities π"), "gumbelEditProbabilities",
                                "Edit probabilities instead of logits")
        self.bars = LogitsBars()
        self.bars.setMinimumHeight(130)
        self.bars.setMaximumHeight(200)
        self.spins: list[QDoubleSpinBox] = []
        grid = QGridLayout()
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        for i in range(MAX_K):
            spin = named(QDoubleSpinBox(), f"gumbelLogit{i}", f"Logit {i}")
            spin.setDecimals(2)
            spin.setSingleStep(0.1)
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda v, i=i: self._spin_changed(i, v))
            self.spins.append(spin)
            grid.addWidget(spin, i // 5, i % 5)
        top = QHBoxLayout()
        top.addWidget(self.k_spin)
        top.addWidget(self.prob_check, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.bars, 1)
        layout.addLayout(grid)
        self.pi_label = named(QLabel(), "gumbelPiLabel", "Probabilities pi")
        self.pi_label.setWordWrap(True)
        layout.addWidget(self.pi_label)
        self.k_spin.valueChanged.connect(self.set_k)
        self.prob_check.toggled.connect(lambda _: self._show())
        self.bars.bar_dragged.connect(self._bar_dragged)
        self._updating = False
        self._show()

    # -- editing -----------------------------------------------------------------------------
    @property
    def edit_probabilities(self) -> bool:
        return self.prob_check.isChecked()

    def set_logits(self, logits: np.ndarray) -> None:
        logits = np.clip(np.asarray(logits, dtype=np.float64), -LOGIT_RANGE, LOGIT_RANGE)
        changed = logits.shape != self.logits.shape or not np.array_equal(logits, self.logits)
        self.logits = logits
        if self.k_spin.value() != len(logits):
            self._updating = True
            self.k_spin.setValue(len(logits))
            self._updating = False
        self._show()
        if changed:
            self.logits_changed.emit(self.logits.copy())

    def set_k(self, k: int) -> None:
        if self._updating or k == len(self.logits):
            return
        old = self.logits
        new = np.zeros(k)
        new[:min(k, len(old))] = old[:k]
        self.set_logits(new)

    def _set_value(self, i: int, value: float) -> None:
        logits = self.logits.copy()
        if self.edit_probabilities:
            pi = softmax(logits)
            value = float(np.clip(value, MIN_PROBABILITY, 1 - MIN_PROBABILITY))
            rest = np.delete(pi, i)
            rest = rest / rest.sum() * (1 - value)                  # the others keep their ratios
            pi = np.insert(rest, i, value)
            logits = np.log(np.maximum(pi, 1e-12))
            logits -= logits.max()                                  # log pi up to a constant
        else:
            logits[i] = value
        self.set_logits(logits)

    def _spin_changed(self, i: int, value: float) -> None:
        if not self._updating and i < len(self.logits):
            self._set_value(i, value)

    def _bar_dragged(self, i: int, value: float) -> None:
        self._set_value(i, value)

    # -- display -----------------------------------------------------------------------------
    def _show(self) -> None:
        self._updating = True
        probs = self.edit_probabilities
        shown = softmax(self.logits) if probs else self.logits
        for i, spin in enumerate(self.spins):
            spin.setVisible(i < len(self.logits))
            if probs:
                spin.setRange(MIN_PROBABILITY, 1 - MIN_PROBABILITY)
                spin.setDecimals(3)
                spin.setSingleStep(0.01)
            else:
                spin.setRange(-LOGIT_RANGE, LOGIT_RANGE)
                spin.setDecimals(2)
                spin.setSingleStep(0.1)
            if i < len(shown):
                spin.setValue(float(shown[i]))
                spin.setAccessibleName(f"{'Probability' if probs else 'Logit'} {i}")
        self.bars.set_values(shown, probs)
        self._updating = False
        pi = softmax(self.logits)
        self.pi_label.setText("π = softmax(logits) = [" + ", ".join(f"{p:.2f}" for p in pi) + "]")

    def set_presentation(self, on: bool) -> None:
        self.bars.set_presentation(on)
        self.bars.setMinimumHeight(230 if on else 130)
        self.bars.setMaximumHeight(320 if on else 200)
