"""A threshold slider over the score range with the live true- and false-positive rates."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from explorer.core.anomaly import rates_at

from ..widgets.naming import named

STEPS = 1000


class ThresholdControl(QWidget):
    """Flag an image as anomalous when its score >= the threshold; shows TPR and FPR."""

    threshold_changed = Signal(float, float, float)    # threshold, TPR, FPR

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("anomalyThresholdRow")
        self.setAccessibleName("Threshold")
        self.slider = named(QSlider(Qt.Horizontal), "anomalyThreshold", "Anomaly threshold",
                            "Images scoring at or above the threshold are flagged as anomalous")
        self.slider.setRange(0, STEPS)
        self.rates = named(QLabel("—"), "anomalyRates", "True- and false-positive rates")
        self.rates.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("threshold:"))
        row.addWidget(self.slider, 1)
        column.addLayout(row)
        column.addWidget(self.rates)
        self.scores_in = np.zeros(0)
        self.scores_out = np.zeros(0)
        self.unit = ""
        self.lo, self.hi = 0.0, 1.0
        self.slider.valueChanged.connect(self._moved)
        self.setEnabled(False)

    def set_scores(self, scores_in: np.ndarray, scores_out: np.ndarray, unit: str) -> None:
        """New sets or score: the slider spans their range and starts where 5 % of the normal set is flagged."""
        self.scores_in, self.scores_out, self.unit = scores_in, scores_out, unit
        both = np.r_[scores_in, scores_out]
        self.lo, self.hi = float(both.min()), float(both.max())
        if self.hi <= self.lo:
            self.hi = self.lo + 1.0
        self.setEnabled(True)
        start = float(np.quantile(scores_in, 0.95))
        value = int(round((start - self.lo) / (self.hi - self.lo) * STEPS))
        if value == self.slider.value():
            self._moved(value)
        else:
            self.slider.setValue(value)

    def clear(self) -> None:
        self.scores_in = self.scores_out = np.zeros(0)
        self.rates.setText("—")
        self.setEnabled(False)

    def threshold(self) -> float:
        return self.lo + (self.hi - self.lo) * self.slider.value() / STEPS

    def _moved(self, _value: int) -> None:
        if not len(self.scores_in) or not len(self.scores_out):
            return
        t = self.threshold()
        tpr, fpr = rates_at(self.scores_in, self.scores_out, t)
        self.rates.setText(f"flag if score ≥ {t:.2f} {self.unit}:  TPR {100 * tpr:.1f} % of the anomalous set "
                           f"flagged · FPR {100 * fpr:.1f} % of the normal set flagged")
        self.threshold_changed.emit(t, tpr, fpr)
