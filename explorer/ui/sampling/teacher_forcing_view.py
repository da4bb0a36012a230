"""Teacher forcing, next to sampling: ONE forward pass over a real image's code grid gives every
position's distribution at once (notes, "Teacher forcing"); sampling needs H·W passes.

Heatmap: p(true z_ij | true z_<ij) per cell. A click on a cell shows that position's whole
distribution over the K codes, the true code outlined.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from explorer.core.sampling_session import TeacherForcing, nats_to_bits
from explorer.ui.sampling.plot_style import make_plot, set_title, style_plot
from explorer.ui.widgets.image_view import ImageView
from explorer.ui.widgets.naming import named


def heat_colour(p: float) -> QColor:
    """White (p = 0) to dark green (p = 1)."""
    p = min(1.0, max(0.0, p))
    return QColor(int(255 - 225 * p), int(255 - 120 * p), int(255 - 200 * p))


class ProbabilityHeatmap(QWidget):
    """p(true code) per cell with the value written in; a click selects a cell."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingTeacherHeatmap", "Probability of the true code at each position",
              "Click a cell to see its distribution")
        self.values = np.zeros((7, 7))
        self.selected: tuple[int, int] | None = None
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(100, 100)

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def set_values(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=float)
        self.update()

    def _geometry(self) -> tuple[float, float, float]:
        h, w = self.values.shape
        s = max(4.0, min(self.width() / w, self.height() / h))
        return s, (self.width() - w * s) / 2, (self.height() - h * s) / 2

    def cell_rect(self, i: int, j: int) -> QRectF:
        s, x0, y0 = self._geometry()
        return QRectF(x0 + j * s, y0 + i * s, s, s)

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        s, x0, y0 = self._geometry()
        pos = ev.position()
        i, j = int((pos.y() - y0) // s), int((pos.x() - x0) // s)
        h, w = self.values.shape
        if 0 <= i < h and 0 <= j < w:
            self.selected = (i, j)
            self.update()
            self.cell_clicked.emit(i, j)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        h, w = self.values.shape
        s = self._geometry()[0]
        font = self.font()
        font.setPixelSize(max(7, int(s * 0.3)))
        p.setFont(font)
        for i in range(h):
            for j in range(w):
                rect = self.cell_rect(i, j)
                v = float(self.values[i, j])
                p.fillRect(rect, heat_colour(v))
                p.setPen(QColor(0, 0, 0) if v < 0.6 else QColor(255, 255, 255))
                if s >= 18:
                    p.drawText(rect, Qt.AlignCenter, f"{v * 100:.0f}")
        p.setPen(QPen(QColor(60, 60, 60, 120), 1))
        for i in range(h):
            for j in range(w):
                p.drawRect(self.cell_rect(i, j))
        if self.selected is not None:
            p.setPen(QPen(QColor(255, 185, 0), 3))
            p.drawRect(self.cell_rect(*self.selected).adjusted(1, 1, -1, -1))
        p.end()


class TeacherForcingView(QWidget):
    """Input image | heatmap of p(true code) | histogram of the clicked position."""

    example_changed = Signal(int)
    source_changed = Signal(str)        # "examples" or "validation"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingTeacherForcing", "Teacher forcing: one pass over a real image's codes",
              "p(true z_ij | true z_<ij) for every position from one forward pass")
        self.example = named(QSpinBox(), "samplingTeacherExample", "Example image for teacher forcing")
        self.source = named(QComboBox(), "samplingTeacherSource", "Images for teacher forcing")
        self.source.addItem("bundle examples", "examples")
        self.source.addItem("validation set", "validation")
        self.source.model().item(1).setEnabled(False)       # until the split is loaded
        self.summary = named(QLabel(), "samplingTeacherSummary", "Teacher-forcing log-likelihood and time")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.image = ImageView("samplingTeacherImage", "image x", "Image whose codes are scored")
        self.heatmap = ProbabilityHeatmap()
        self.histogram = make_plot("samplingTeacherHistogram", "code k", "p")
        self.histogram.setMinimumWidth(160)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.true_bar = pg.BarGraphItem(x=[], height=[], width=0.8, brush=None, pen=pg.mkPen("k", width=3))
        self.histogram.addItem(self.bars)
        self.histogram.addItem(self.true_bar)
        head = QHBoxLayout()
        head.addWidget(QLabel("one pass over the codes of"))
        head.addWidget(self.source)
        head.addWidget(QLabel("#"))
        head.addWidget(self.example)
        head.addStretch(1)
        pictures = QHBoxLayout()
        pictures.addWidget(self.image, 2)
        pictures.addWidget(self.heatmap, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addLayout(pictures, 3)
        layout.addWidget(QLabel("p(true code) per cell, in %: click a cell for its distribution"))
        layout.addWidget(self.histogram, 2)
        self.result: TeacherForcing | None = None
        self.codes: np.ndarray | None = None
        self.palette = np.zeros((0, 3), dtype=np.uint8)
        self.sampling_grid_s: float | None = None      # naive sampler, one grid (from the cost view)
        self.example.valueChanged.connect(self.example_changed)
        self.source.currentIndexChanged.connect(lambda _i: self.source_changed.emit(self.source.currentData()))
        self.heatmap.cell_clicked.connect(self.show_histogram)

    def set_validation_available(self, available: bool) -> None:
        self.source.model().item(1).setEnabled(available)
        if not available and self.source.currentIndex() == 1:
            self.source.setCurrentIndex(0)

    def set_examples(self, count: int) -> None:
        self.example.blockSignals(True)
        self.example.setRange(0, max(0, count - 1))
        self.example.setEnabled(count > 0)
        self.example.blockSignals(False)

    def set_result(self, image: np.ndarray, codes: np.ndarray, result: TeacherForcing, palette: np.ndarray,
                   label: int | None) -> None:
        self.result, self.codes, self.palette = result, codes, palette
        self.image.set_image(image)
        self.image.set_caption("image x" + (f" (class {label})" if label is not None else ""))
        self.heatmap.set_values(result.true_prob)
        self._summary()
        self.show_histogram(*(self.heatmap.selected or (codes.shape[0] // 2, codes.shape[1] // 2)))

    def clear(self, message: str) -> None:
        self.result = None
        self.image.set_image(None, message)
        self.summary.setText(message)

    def set_sampling_time(self, naive_grid_s: float | None) -> None:
        self.sampling_grid_s = naive_grid_s
        self._summary()

    def _summary(self) -> None:
        r = self.result
        if r is None:
            return
        h, w = r.true_prob.shape
        vs = (f" vs {self.sampling_grid_s * 1e3:.0f} ms for the {h * w} passes of naive sampling"
              if self.sampling_grid_s is not None else f" vs {h * w} passes to sample")
        self.summary.setText(f"log p(z) = <b>{r.log_likelihood:.1f} nats</b> = {nats_to_bits(r.log_likelihood):.1f} "
                             f"bits · <b>1 pass: {r.seconds * 1e3:.1f} ms</b>{vs}")

    def show_histogram(self, i: int, j: int) -> None:
        """The distribution at (i, j) over the K codes, the true code outlined."""
        if self.result is None or self.codes is None:
            return
        self.heatmap.selected = (i, j)
        self.heatmap.update()
        probs = self.result.probs[:, i, j]
        k = len(probs)
        true = int(self.codes[i, j])
        self.bars.setOpts(x=np.arange(k), height=probs,
                          brushes=[pg.mkBrush(*c) for c in self.palette[:k].tolist()], pens=[pg.mkPen(None)] * k)
        self.true_bar.setOpts(x=[true], height=[probs[true]])
        self.histogram.setXRange(-0.7, k - 0.3, padding=0)
        self.histogram.setYRange(0, max(0.05, float(probs.max())) * 1.08, padding=0)
        set_title(self.histogram, f"({i}, {j}): true code {true}, p = {probs[true]:.0%}")

    def histogram_heights(self) -> np.ndarray:
        h = self.bars.opts.get("height")
        return np.asarray([] if h is None else h, dtype=float)

    def set_presentation(self, on: bool) -> None:
        style_plot(self.histogram, on)
