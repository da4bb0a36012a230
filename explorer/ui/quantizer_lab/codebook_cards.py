"""One card per method: its codebook usage histogram and a PCA map of encoder outputs and codes.

The map is the codebook panel's (explorer.core.projection): axes fitted on the encoder outputs in
the space where the code is chosen, points coloured by the code they snap to, codes as outlined
dots, dead codes (unused on the probe images) as grey crosses. Collapse shows as codes far from
every point.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from explorer.core.projection import code_palette
from explorer.core.quantizer_lab import METHODS, MethodSnapshot

from .style import method_colour, restyle

CARD_WIDTH = {False: 230, True: 330}


def _plot(object_name: str, accessible: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(object_name)
    plot.setAccessibleName(accessible)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    # The card's height is the row's: a plot's own size hint (~300 px) would push the map out of view.
    plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    for side in ("left", "bottom"):
        axis = plot.getPlotItem().getAxis(side)
        axis.enableAutoSIPrefix(False)
        axis.setPen("#555555")
        axis.setTextPen("#222222")
    return plot


class MethodCard(QFrame):
    """Usage histogram over PCA map of one method."""

    def __init__(self, name: str, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name, self.colour = name, method_colour(index)
        label = METHODS[name].label
        self.setObjectName(f"quantizerLabCard_{name}")
        self.setAccessibleName(f"Codebook of {label}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.label = label
        self.title = QLabel(f"<b style='color:{self.colour}'>■</b> <b>{label}</b>")
        self.title.setWordWrap(True)
        self.title.setObjectName(f"quantizerLabCardTitle_{name}")
        self.title.setAccessibleName(label)
        self.title.setToolTip(METHODS[name].summary)
        layout.addWidget(self.title)
        self.histogram = _plot(f"quantizerLabHistogram_{name}", f"Code usage of {label}")
        self.histogram.setMouseEnabled(x=False, y=False)
        self.histogram.setLabel("bottom", "code k")
        # Axes whose numbers change with every snapshot are hidden: redrawing their text would stall
        # the window (the counts' scale is in the card's label; PCA coordinates mean nothing).
        self.histogram.hideAxis("left")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.9, brush=self.colour, pen=None)
        self.histogram.addItem(self.bars)
        self.map = _plot(f"quantizerLabMap_{name}", f"PCA map of {label}")
        self.map.setAspectLocked(True)
        self.map.hideAxis("left")
        self.map.hideAxis("bottom")
        self.cloud = pg.ImageItem(axisOrder="row-major")
        self.codes = pg.ScatterPlotItem(size=9, pen=pg.mkPen("k", width=1))
        self.dead = pg.ScatterPlotItem(size=8, symbol="x", pen=pg.mkPen((130, 130, 130), width=1.5), brush=None)
        for z, item in enumerate((self.cloud, self.dead, self.codes)):
            item.setZValue(z)
            self.map.addItem(item)
        self.histogram.setMinimumHeight(60)
        self.map.setMinimumHeight(80)
        layout.addWidget(self.histogram, 2)
        layout.addWidget(self.map, 3)
        self.snapshot: MethodSnapshot | None = None
        self._pending: list[str] = []
        self._k = -1
        self.presentation = False
        self.set_presentation(False)

    def set_snapshot(self, snap: MethodSnapshot) -> None:
        """Keep ``snap``; :meth:`draw_next` draws it (histogram, then map: one plot per call)."""
        self.snapshot = snap
        self._pending = ["histogram", "map"]

    def draw_next(self) -> bool:
        """Draw one waiting part of the latest snapshot; False when nothing waits."""
        if not self._pending or self.snapshot is None:
            return False
        part = self._pending.pop(0)
        snap = self.snapshot
        counts = snap.counts
        k = len(counts)
        used = counts > 0
        if part == "histogram":
            self.bars.setOpts(x=np.arange(k), height=counts.astype(float))
            if self._k != k:
                self._k = k
                self.histogram.setXRange(-0.5, k - 0.5, padding=0)
            # The numbers go into the card's label: re-laying out a plot title costs ~10 ms a plot.
            self.title.setText(f"<b style='color:{self.colour}'>■</b> <b>{self.label}</b><br>"
                               f"{int(used.sum())}/{k} codes used · {k - int(used.sum())} dead ✕")
            return True
        cmap = snap.map
        if cmap.image is not None:
            x0, y0, x1, y1 = cmap.bounds
            self.cloud.setImage(cmap.image, autoLevels=False)
            self.cloud.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        palette = code_palette(k).tolist()
        alive = np.flatnonzero(used)
        self.codes.setData(cmap.codes_xy[alive, 0], cmap.codes_xy[alive, 1],
                           brush=[pg.mkBrush(*palette[i]) for i in alive])
        gone = np.flatnonzero(~used)
        self.dead.setData(cmap.codes_xy[gone, 0], cmap.codes_xy[gone, 1])
        return True

    def _titles(self) -> None:
        restyle(self.histogram, self.presentation, "usage (held-out)")
        restyle(self.map, self.presentation, "PCA: z and codes")

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        self.setFixedWidth(CARD_WIDTH[on])
        # large tick labels would leave the bars no room: the code axis shows in normal mode only
        self.histogram.showAxis("bottom", not on)
        self.codes.setSize(13 if on else 9)
        self._titles()


EMPTY_TEXT = ("No run yet: pick 2-8 methods or a preset and press Start. Each method's codebook (code use "
              "and a PCA map of the codes) appears here as it trains.")


class CodebookCards(QScrollArea):
    """A horizontal row of :class:`MethodCard`, scrolled when they do not fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quantizerLabCards")
        self.setAccessibleName("Codebook usage and PCA map of every method")
        self.setWidgetResizable(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.inner = QWidget()
        self.row = QHBoxLayout(self.inner)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.placeholder = QLabel(EMPTY_TEXT)         # until a run starts
        self.placeholder.setObjectName("quantizerLabCardsEmpty")
        self.placeholder.setAccessibleName(EMPTY_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.row.addWidget(self.placeholder, 99)       # nearly all the width, beside the cards' end stretch
        self.row.addStretch(1)
        self.setWidget(self.inner)
        self.cards: dict[str, MethodCard] = {}
        self._turn = 0
        self.presentation = False

    def reset(self, methods: tuple[str, ...]) -> None:
        for card in self.cards.values():
            self.row.removeWidget(card)
            card.deleteLater()
        self.cards = {}
        self.placeholder.setVisible(not methods)
        for i, name in enumerate(methods):
            card = MethodCard(name, i, self.inner)
            card.set_presentation(self.presentation)
            self.cards[name] = card
            self.row.insertWidget(i, card)

    def update_snapshots(self, snapshots: list[MethodSnapshot]) -> None:
        for snap in snapshots:
            card = self.cards.get(snap.name)
            if card is not None:
                card.set_snapshot(snap)

    def draw_next(self) -> bool:
        """Draw one waiting plot of one card (the next card in turn); False when none waits."""
        cards = list(self.cards.values())
        for i in range(len(cards)):
            card = cards[(self._turn + i) % len(cards)]
            if card.draw_next():
                self._turn = (self._turn + i + 1) % len(cards)
                return True
        return False

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        for card in self.cards.values():
            card.set_presentation(on)
