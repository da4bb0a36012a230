"""The ROC curve of "flag when score >= t", its AUC in the title, and the slider's operating point."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from explorer.core.anomaly import RocCurve

from .plot_style import set_title, OUT_COLOUR, plain_plot, style_plot


class RocPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("anomalyRoc")
        self.setAccessibleName("ROC curve")
        self.plot = plain_plot("anomalyRocPlot")
        self.plot.setLabel("bottom", "false-pos. rate")
        self.plot.setLabel("left", "true-pos. rate")
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setAspectLocked(False)
        self.plot.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), width=1, style=pg.QtCore.Qt.DashLine))
        self.curve = self.plot.plot([], [], pen=pg.mkPen(OUT_COLOUR, width=2))
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(40, 40, 40), pen=pg.mkPen("w", width=1))
        self.plot.addItem(self.point)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.auc: float | None = None
        style_plot(self.plot, False)

    def set_curve(self, roc: RocCurve | None, what: str = "") -> None:
        if roc is None:
            self.auc = None
            self.curve.setData([], [])
            self.point.setData([], [])
            set_title(self.plot, what)
            return
        self.auc = roc.auc
        self.curve.setData(roc.fpr, roc.tpr)
        set_title(self.plot, f"ROC · AUC {roc.auc:.3f}")

    def set_point(self, fpr: float, tpr: float) -> None:
        self.point.setData([fpr], [tpr])

    def set_presentation(self, on: bool) -> None:
        style_plot(self.plot, on)
        self.curve.setPen(pg.mkPen(OUT_COLOUR, width=4 if on else 2))
