"""The conditional p(z_ij | z_<ij) at the current step, as a bar per code, and what the most
likely codes would *mean*: the partial grid decoded with each of them at (i, j).

The bars are the sampling distribution after temperature and top-k (what the draw uses,
notes "PixelCNN: Inference"); the sampled code's bar is outlined.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from explorer.ui.sampling.plot_style import make_plot, set_x_label, style_plot
from explorer.ui.sampling.steady_label import SteadyLabel
from explorer.ui.widgets.image_view import ImageView
from explorer.ui.widgets.naming import named

TOP_TILES = 4           # decoded tiles of the most likely codes
Y_STEPS = (0.1, 0.25, 0.5, 1.0)   # y ranges of the bar chart


class DistributionView(QWidget):
    """Bar chart over the K codes plus decoded tiles of the top codes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingDistribution", "Conditional distribution of the current position",
              "p(z_ij | z_<ij) after temperature and top-k; the outlined bar is the sampled code")
        self.plot = make_plot("samplingDistributionPlot", "code k", "p")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.chosen_bar = pg.BarGraphItem(x=[], height=[], width=0.8, brush=None, pen=pg.mkPen("k", width=3))
        self.plot.addItem(self.bars)
        self.plot.addItem(self.chosen_bar)
        self.tiles = [ImageView(f"samplingTopTile{r}", "", f"Decoded with the {r + 1}. most likely code")
                      for r in range(TOP_TILES)]
        tiles = QHBoxLayout()
        tiles.setContentsMargins(0, 0, 0, 0)
        for tile in self.tiles:
            tile.setMinimumSize(60, 70)
            tiles.addWidget(tile)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = named(SteadyLabel(lines=1), "samplingDistributionTitle", "Position and code drawn")
        self.title.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 3)
        layout.addLayout(tiles, 2)
        self.palette = np.zeros((0, 3), dtype=np.uint8)
        self._brushes: list = []
        self._no_pens: list = []
        self._y_max = 0.0
        self._show_y_max(1.0)                     # before the first step too: the top tick label is whole
        self.probs = np.zeros(0)
        self.chosen = -1

    def set_palette(self, palette: np.ndarray) -> None:
        self.palette = palette
        self._brushes = [pg.mkBrush(*c) for c in palette.tolist()]      # made once, reused every step
        self._no_pens = [pg.mkPen(None)] * len(palette)
        self.plot.setXRange(-0.7, len(palette) - 0.3, padding=0)

    def _show_y_max(self, y_max: float) -> None:
        if y_max != self._y_max:                  # a few fixed ranges: the axis is rarely redrawn
            self._y_max = y_max
            self.plot.setYRange(0, y_max * 1.06, padding=0)       # room for the top tick label

    def show_step(self, probs: np.ndarray | None, chosen: int, position: tuple[int, int] | None,
                  top_codes: list[int], tile_images: list[np.ndarray], what: str, tiles: bool = True) -> None:
        """Bars of ``probs`` (K,), ``chosen`` outlined; tiles of ``top_codes`` decoded (unless ``tiles``
        is False: the tiles keep an earlier step while the animation runs fast)."""
        if probs is None:
            self.probs, self.chosen = np.zeros(0), -1
            self.bars.setOpts(x=[], height=[])
            self.chosen_bar.setOpts(x=[], height=[])
            self.title.setText("p(z<sub>ij</sub> | z<sub>&lt;ij</sub>): press Step or Play")
            for tile in self.tiles:
                tile.set_image(None, "")
                tile.set_caption("")
            return
        self.probs, self.chosen = np.asarray(probs, dtype=float), int(chosen)
        k = len(self.probs)
        self.bars.setOpts(x=np.arange(k), height=self.probs, brushes=self._brushes[:k], pens=self._no_pens[:k])
        self.chosen_bar.setOpts(x=[chosen], height=[self.probs[chosen]])
        y_max = next(v for v in Y_STEPS if v >= float(self.probs.max()) * 1.05 or v == Y_STEPS[-1])
        self._show_y_max(y_max)
        i, j = position
        set_x_label(self.plot, f"code k  ({what})")
        self.title.setText(f"p(z<sub>{i},{j}</sub> | z<sub>&lt;{i},{j}</sub>) → drew <b>{chosen}</b>")
        if not tiles:
            return
        for r, tile in enumerate(self.tiles):
            if r < len(top_codes):
                code = top_codes[r]
                tile.set_caption(f"{code}: {self.probs[code]:.0%}")
                tile.set_image(tile_images[r])
                h, w = tile.image.shape[:2]
                tile.set_outlines([((0, 0, h, w), QColor(255, 185, 0), Qt.SolidLine)] if code == chosen else [])
            else:
                tile.set_caption("")
                tile.set_image(None, "")

    def set_presentation(self, on: bool) -> None:
        style_plot(self.plot, on)
        self.tiles[-1].setVisible(not on)            # fewer, larger tiles for the back of the room
