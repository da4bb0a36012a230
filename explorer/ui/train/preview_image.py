"""Reconstructions of a fixed held-out batch: rows of inputs, each above its reconstructions."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from ..presentation import fit_title, plot_font, title_size
from .history import TrainingHistory

PER_ROW = 8
ROW_NAMES = ("input", "reconstruction")     # the label left of each row of the montage


def montage(inputs: np.ndarray, recons: np.ndarray, per_row: int = PER_ROW, gap: int = 2) -> np.ndarray:
    """(N, C, H, W) pairs -> one (rows, cols[, 3]) image in [0, 1]: input rows above recon rows."""
    n, c, h, w = inputs.shape
    cols = min(per_row, n)
    bands = int(np.ceil(n / cols))
    out = np.full((bands * 2 * (h + gap) - gap, cols * (w + gap) - gap, c), 0.35, dtype=np.float32)
    for i in range(n):
        band, col = divmod(i, cols)
        x0 = col * (w + gap)
        for row, src in ((2 * band, inputs), (2 * band + 1, recons)):
            y0 = row * (h + gap)
            out[y0:y0 + h, x0:x0 + w] = np.clip(np.transpose(src[i], (1, 2, 0)), 0.0, 1.0)
    return out[..., 0] if c == 1 else out


class PreviewImage(pg.GraphicsLayoutWidget):
    """Inputs and their reconstructions, refreshed on validation steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reconstructionPreview")
        self.setAccessibleName("Reconstructions of held-out images")
        self.setToolTip("Held-out images: each row of inputs is shown above its row of reconstructions")
        self.label = self.addLabel("", row=0, col=0)
        # A plot without a frame: its left axis names each row (input / reconstruction).
        self.plot = self.addPlot(row=1, col=0)
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.rows_axis = self.plot.getAxis("left")
        self.rows_axis.setPen(None)
        self.rows_axis.setStyle(tickLength=0)
        self.view = self.plot.getViewBox()
        self.view.setAspectLocked(True)
        self.view.setMouseEnabled(False, False)
        self.view.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.step = 0
        self.caption = ""
        self._presentation = False
        self._update_label()

    def has_image(self) -> bool:
        return self.image.image is not None

    def set_pairs(self, inputs: np.ndarray, recons: np.ndarray, step: int = 0, caption: str = "") -> None:
        """Show the pairs; the caption says whose they are (default: "at step N")."""
        self.image.setImage(montage(inputs, recons), levels=(0.0, 1.0))
        self._label_rows(inputs.shape[2], len(inputs))
        self.view.autoRange(padding=0.0)
        self.step = step
        self.caption = caption or (f"at step {step}" if step else "")
        self._update_label()

    def _label_rows(self, h: int, n: int, gap: int = 2) -> None:
        """Ticks at the centre of every montage row: input, reconstruction, input, …"""
        bands = int(np.ceil(n / min(PER_ROW, max(1, n))))
        ticks = [((row * (h + gap) + h / 2), ROW_NAMES[row % 2]) for row in range(2 * bands)]
        self.rows_axis.setTicks([ticks, []])

    def row_labels(self) -> list[str]:
        """The labels shown left of the montage's rows, top to bottom."""
        ticks = getattr(self.rows_axis, "_tickLevels", None) or [[]]
        return [text for _y, text in ticks[0]]

    def clear_image(self) -> None:
        self.image.clear()
        self.rows_axis.setTicks([[], []])
        self.step = 0
        self.caption = ""
        self._update_label()

    def set_presentation(self, on: bool) -> None:
        self._presentation = on
        self._update_label()

    def _update_label(self) -> None:
        on = self._presentation
        title = fit_title(f"Reconstructions · {self.caption}" if self.caption else "Reconstructions", on, 22)
        title = title.replace("Reconstructions", "<b>Reconstructions</b>", 1)
        self.setBackground("k" if on else "w")
        colour = "#ffffff" if on else "#333333"
        self.label.setText(title, size=title_size(on), color=colour)
        self.rows_axis.setTickFont(plot_font(on))
        self.rows_axis.setTextPen(pg.mkPen(colour))

    def update_from(self, history: TrainingHistory) -> None:
        if history.preview is not None and history.preview_step != self.step:
            self.set_pairs(*history.preview, history.preview_step)
