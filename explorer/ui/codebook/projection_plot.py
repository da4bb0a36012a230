"""The notes' Figure 1 on real data: encoder outputs z_e and codes e_k in 2-D (PCA).

Each small dot is one z_e(x) of one cell, coloured by the code it snaps to,
k = argmin_j ||z_e(x) - e_j||_2; codes are the large outlined dots (dead codes: ✕).
Assignment is nearest-neighbour in D dimensions, so in the 2-D picture a dot can sit
closer to another code's marker: the projection loses D - 2 dimensions.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from explorer.core.projection import CodebookMap
from explorer.ui.presentation import plot_font, style_plot
from explorer.ui.widgets.sparse_ticks import sparse_vertical_ticks


class ProjectionPlot(QWidget):
    """Scatter of z_e points and codebook vectors; hover/click on a code marker."""

    code_hovered = Signal(int)
    code_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codebookProjection")
        self.setAccessibleName("Codebook projection")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("codebookProjectionPlot")
        self.plot.setMenuEnabled(False)
        self.plot.setAspectLocked(True)
        sparse_vertical_ticks(self.plot.getAxis("left"))     # large F5 fonts: numbers never stack
        QVBoxLayout(self).addWidget(self.plot)
        self.layout().setContentsMargins(0, 0, 0, 0)
        self.cloud = pg.ImageItem(axisOrder="row-major")          # the z_e dots, pre-drawn in the worker
        self.codes = pg.ScatterPlotItem(size=13, pen=pg.mkPen("k", width=1.2), hoverable=True, tip=None)
        self.dead = pg.ScatterPlotItem(size=11, symbol="x", pen=pg.mkPen((120, 120, 120), width=2), brush=None)
        self.ring = pg.ScatterPlotItem(size=24, pen=pg.mkPen((255, 140, 0), width=3), brush=None)
        self.label = pg.TextItem("", color=(20, 20, 20), anchor=(0, 1), fill=(255, 255, 255, 210))
        for z, item in enumerate((self.cloud, self.dead, self.codes, self.ring, self.label)):
            item.setZValue(z)               # hover ring and its label above every marker
            self.plot.addItem(item)
        self.map: CodebookMap | None = None
        self.hovered = -1
        self.presentation = False
        self.codes.sigHovered.connect(self._hovered)
        self.codes.sigClicked.connect(self._clicked)

    def set_map(self, cmap: CodebookMap | None, palette: np.ndarray, dead: np.ndarray | None) -> None:
        self.map = cmap
        if cmap is None:
            self.cloud.clear()
            for item in (self.codes, self.dead):
                item.setData([], [])
            style_plot(self.plot, self.presentation, "no images: no encoder outputs to project")
            return
        pal = palette.tolist()          # plain ints for Qt colours
        if cmap.image is not None:
            x0, y0, x1, y1 = cmap.bounds
            self.cloud.setImage(cmap.image, autoLevels=False)
            self.cloud.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        k = len(cmap.codes_xy)
        alive = np.ones(k, dtype=bool)
        if dead is not None:
            alive[dead] = False
        idx = np.flatnonzero(alive).tolist()
        self.codes.setData(cmap.codes_xy[idx, 0], cmap.codes_xy[idx, 1], data=np.asarray(idx),
                           brush=[pg.mkBrush(*pal[i]) for i in idx])
        gone = np.flatnonzero(~alive)
        self.dead.setData(cmap.codes_xy[gone, 0], cmap.codes_xy[gone, 1], data=gone)
        ex = cmap.explained
        what = "soft embeddings softmax(logits)·e" if cmap.soft else "encoder outputs z_e"
        self.plot.setLabel("bottom", f"PC1 ({ex[0] * 100:.0f}% of variance)")
        self.plot.setLabel("left", f"PC2 ({ex[1] * 100:.0f}%)")
        style_plot(self.plot, self.presentation, f"{len(cmap.points_xy)} {what} · coloured by nearest code")
        self.set_hovered(self.hovered)

    def set_presentation(self, on: bool) -> None:
        """Larger title, axis and tick labels, code markers and hover label."""
        self.presentation = on
        self.codes.setSize(18 if on else 13)
        self.dead.setSize(15 if on else 11)
        self.ring.setSize(32 if on else 24)
        self.label.textItem.setFont(plot_font(on))
        style_plot(self.plot, on)

    def code_position(self, code: int) -> tuple[float, float]:
        """Plot coordinates of code ``code``'s marker."""
        x, y = self.map.codes_xy[code]
        return float(x), float(y)

    def set_hovered(self, code: int) -> None:
        self.hovered = code
        if self.map is not None and 0 <= code < len(self.map.codes_xy):
            x, y = self.code_position(code)
            self.ring.setData([x], [y])
            self.label.setText(f" code {code}")
            self.label.setPos(x, y)
        else:
            self.ring.setData([], [])
            self.label.setText("")

    def _hovered(self, item, points, ev) -> None:
        code = int(points[0].data()) if len(points) else -1
        if code != self.hovered:
            self.set_hovered(code)
            self.code_hovered.emit(code)

    def _clicked(self, item, points, ev) -> None:
        if len(points):
            self.code_clicked.emit(int(points[0].data()))
