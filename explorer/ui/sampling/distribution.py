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

from explorer.ui.sampling.plot_style import make_plot, set_title, set_x_label, style_plot
from explorer.ui.widgets.image_view import ImageView
from explorer.ui.widgets.naming import named

TOP_TILES = 4           # decoded tiles of the most likely codes


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
        layout.addWidget(self.plot, 3)
        layout.addLayout(tiles, 2)
        self.palette = np.zeros((0, 3), dtype=np.uint8)
        self.probs = np.zeros(0)
        self.chosen = -1

    def set_palette(self, palette: np.ndarray) -> None:
        self.palette = palette
        self.plot.setXRange(-0.7, len(palette) - 0.3, padding=0)

    def show_step(self, probs: np.ndarray | None, chosen: int, position: tuple[int, int] | None,
                  top_codes: list[int], tile_images: list[np.ndarray], what: str) -> None:
        """Bars of ``probs`` (K,), ``chosen`` outlined; tiles of ``top_codes`` decoded."""
        if probs is None:
            self.probs, self.chosen = np.zeros(0), -1
            self.bars.setOpts(x=[], height=[])
            self.chosen_bar.setOpts(x=[], height=[])
            set_title(self.plot, "p(z<sub>ij</sub> | z<sub>&lt;ij</sub>): press Step")
            for tile in self.tiles:
                tile.set_image(None, "")
                tile.set_caption("")
            return
        self.probs, self.chosen = np.asarray(probs, dtype=float), int(chosen)
        k = len(self.probs)
        self.bars.setOpts(x=np.arange(k), height=self.probs,
                          brushes=[pg.mkBrush(*c) for c in self.palette[:k].tolist()], pens=[pg.mkPen(None)] * k)
        self.chosen_bar.setOpts(x=[chosen], height=[self.probs[chosen]])
        self.plot.setYRange(0, max(0.05, float(self.probs.max())) * 1.08, padding=0)
        i, j = position
        set_x_label(self.plot, f"code k  ({what})")
        set_title(self.plot, f"p(z<sub>{i},{j}</sub> | z<sub>&lt;</sub>) → <b>{chosen}</b>")
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
