"""Which sets to compare (normal vs anomalous), which score, and which background prior."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout,
                               QWidget)

from explorer.core.anomaly import SCORE_KINDS

from ..widgets.naming import named

SCORE_TITLES = {"nll": "NLL  −log p(z)", "ratio": "likelihood ratio (Ren 2019)",
                "complexity": "complexity-corrected (Serrà 2020)", "combined": "combined (DoSE 2021)",
                "nll-label": "NLL given the label  −log p(z | c)"}
UNCONDITIONAL_KINDS = ("nll", "ratio", "complexity", "combined")      # "nll-label": class-conditional priors only


class SetPicker(QWidget):
    """Combos for the normal set, the anomalous set and the score; a background-bundle button."""

    sets_changed = Signal()
    kind_changed = Signal(str)
    background_requested = Signal()
    shifts_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("anomalySetBar")
        self.setAccessibleName("Anomaly detection sets")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        sets_row, score_row = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(sets_row)
        rows.addLayout(score_row)
        self.in_set = named(QComboBox(), "anomalyInSet", "Normal images",
                            "Images the prior should find likely: held-out images of the classes it was trained on")
        self.out_set = named(QComboBox(), "anomalyOutSet", "Anomalous images",
                             "Images it should find unlikely: other held-out classes, another dataset, a folder")
        self.kind = named(QComboBox(), "anomalyScoreKind", "Anomaly score",
                          "nll: −log p(z); ratio: −log p(z) + log p_background(z); complexity: bits − a "
                          "compressor's bits; combined: how unlike the normal images' (ratio, complexity) pairs "
                          "an input's pair is (near and far outliers); NLL given the label (class-conditional "
                          "priors). Higher = more anomalous for all.")
        self.set_kinds(UNCONDITIONAL_KINDS)
        self.background = named(QPushButton("Background…"), "anomalyBackground", "Choose the background prior",
                                "A bundle with the same VQ-VAE whose prior is the likelihood ratio's background")
        self.in_set.currentIndexChanged.connect(lambda _: self.sets_changed.emit())
        self.out_set.currentIndexChanged.connect(lambda _: self.sets_changed.emit())
        self.kind.currentIndexChanged.connect(lambda _: self.kind_changed.emit(self.kind.currentData()))
        self.shift_average = named(QCheckBox("±1 px average"), "anomalyShiftAverage",
                                   "Average scores over shifted copies",
                                   "Average every score over the image moved by up to one pixel (9 copies, 9× the "
                                   "time): less sensitive to where the encoder's cells fall")
        self.background.clicked.connect(self.background_requested)
        self.shift_average.toggled.connect(lambda on: self.shifts_changed.emit(1 if on else 0))
        for combo in (self.in_set, self.out_set):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        sets_row.addWidget(QLabel("normal:"))
        sets_row.addWidget(self.in_set, 2)
        sets_row.addWidget(QLabel("vs anomalous:"))
        sets_row.addWidget(self.out_set, 3)
        self.kind.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.kind.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)    # always wide enough for its titles
        for w in (QLabel("score:"), self.kind, self.shift_average, self.background):
            score_row.addWidget(w)
        score_row.addStretch(1)

    def set_kinds(self, kinds) -> None:
        """The scores offered (kept: the current one when still offered)."""
        keep = self.kind.currentData()
        self.kind.blockSignals(True)
        self.kind.clear()
        for kind in kinds:
            if kind in SCORE_KINDS:
                self.kind.addItem(SCORE_TITLES[kind], kind)
        i = self.kind.findData(keep)
        self.kind.setCurrentIndex(i if i >= 0 else 0)
        self.kind.blockSignals(False)
        if self.kind.currentData() != keep:
            self.kind_changed.emit(self.kind.currentData())

    def set_options(self, ins: list[tuple[str, str]], outs: list[tuple[str, str]]) -> None:
        """(title, key) items; keeps the current choices where they still exist."""
        for combo, items in ((self.in_set, ins), (self.out_set, outs)):
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for title, key in items:
                combo.addItem(title, key)
            i = combo.findData(keep)
            combo.setCurrentIndex(i if i >= 0 else 0)
            combo.blockSignals(False)
        self.sets_changed.emit()

    def keys(self) -> tuple[str | None, str | None]:
        return self.in_set.currentData(), self.out_set.currentData()

    def select_out(self, key: str) -> None:
        i = self.out_set.findData(key)
        if i >= 0:
            self.out_set.setCurrentIndex(i)
