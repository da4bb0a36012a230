"""Codebook panel options: tile kind, sort order and the images the usage is counted on."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from explorer.ui.widgets.naming import named


class CodebookToolbar(QWidget):
    """Three combo boxes; each change is one signal carrying the new value."""

    tile_mode_changed = Signal(str)      # "filled" or "contribution"
    sort_mode_changed = Signal(str)      # "index", "usage" or "similarity"
    split_changed = Signal(str)          # "examples", "train" or "validation"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codebookToolbar")
        self.setAccessibleName("Codebook options")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.tile_mode = named(QComboBox(), "tileMode", "Tile kind",
                                "What each code adds: decode one code in the middle of a background grid, "
                                "minus the background (red brighter, blue darker), zoomed to the pixels it "
                                "changes. Grid filled with the code: decode a grid made of this code only")
        self.tile_mode.addItem("What each code adds", "contribution")
        self.tile_mode.addItem("Grid filled with the code", "filled")
        self.tile_mode.currentIndexChanged.connect(lambda _: self.tile_mode_changed.emit(self.tile_mode.currentData()))
        self.sort_mode = named(QComboBox(), "sortMode", "Sort codes",
                                "Order of the tiles: by index, most used first, or similar vectors together")
        for text, data in (("by index", "index"), ("by usage", "usage"), ("by similarity", "similarity")):
            self.sort_mode.addItem(text, data)
        self.sort_mode.currentIndexChanged.connect(lambda _: self.sort_mode_changed.emit(self.sort_mode.currentData()))
        self.split = named(QComboBox(), "usageSplit", "Usage dataset",
                            "Images whose codes are counted in the usage histogram and drawn in the map")
        self.split.addItem("bundle examples", "examples")
        self.split.currentIndexChanged.connect(lambda _: self.split_changed.emit(self.split.currentData()))
        for w in (QLabel("Tiles:"), self.tile_mode, QLabel("Sort:"), self.sort_mode, QLabel("Usage on:"), self.split):
            row.addWidget(w)
        row.addStretch(1)

    def show_tile_mode(self, mode: str) -> None:
        """Select ``mode`` in the combo box without emitting ``tile_mode_changed``."""
        self.tile_mode.blockSignals(True)
        self.tile_mode.setCurrentIndex(max(0, self.tile_mode.findData(mode)))
        self.tile_mode.blockSignals(False)

    def set_splits_available(self, available: bool) -> None:
        for text, data in (("training set", "train"), ("validation set", "validation")):
            idx = self.split.findData(data)
            if available and idx < 0:
                self.split.addItem(text, data)
            elif not available and idx >= 0:
                self.split.removeItem(idx)
