"""The held-out results, one row per method, and the buttons that open or save a row's model."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from explorer.core.quantizer_lab import MethodResult

from .style import method_colour

COLUMNS = (
    ("Method", "the bottleneck"),
    ("Held-out MSE", "reconstruction mean squared error per pixel on held-out images (pixels in [0, 1])"),
    ("Codes used", "distinct codes chosen on the held-out images, of K"),
    ("Perplexity", "exp(entropy) of the held-out code histogram: the effective number of codes"),
    ("Dead codes", "codes never chosen on the held-out images"),
    ("s / step", "training seconds per step (this method only)"),
    ("bits / image", "h·w·log2 K: what a uniform code of the grid costs"),
)


class ResultsTable(QWidget):
    """Table ``quantizerLabTable`` plus Open and Save as for the selected row."""

    open_requested = Signal(int)
    save_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quantizerLabResults")
        self.setAccessibleName("Held-out results")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("quantizerLabTable")
        self.table.setAccessibleName("Held-out results of every method")
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open in main window")
        self.open_button.setObjectName("quantizerLabOpen")
        self.open_button.setAccessibleName("Open the selected method's model in the main window")
        self.open_button.setToolTip("Make the selected row's trained model the app's model (codebook panel, "
                                    "editor, prior training then work on it)")
        self.save_button = QPushButton("Save as bundle…")
        self.save_button.setObjectName("quantizerLabSave")
        self.save_button.setAccessibleName("Save the selected method's model as a bundle")
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(lambda: self._emit(self.open_requested))
        self.save_button.clicked.connect(lambda: self._emit(self.save_requested))
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.open_requested.emit(row))
        self.results: list[MethodResult] = []
        self._sync_buttons()

    def clear(self) -> None:
        self.results = []
        self.table.setRowCount(0)
        self._sync_buttons()

    def set_results(self, results: list[MethodResult]) -> None:
        self.results = list(results)
        self.table.setRowCount(len(results))
        for row, r in enumerate(results):
            k = r.codes_used + r.dead_codes
            cells = (r.label, f"{r.mse:.4f}", f"{r.codes_used}/{k} ({100 * r.codes_used_fraction:.0f}%)",
                     f"{r.perplexity:.1f}", str(r.dead_codes), f"{r.seconds_per_step * 1000:.0f} ms",
                     f"{r.bits_per_image:.0f}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setForeground(QColor(method_colour(row)))
                    item.setToolTip(r.method)
                self.table.setItem(row, col, item)
        if results:
            self.table.selectRow(0)
        self._sync_buttons()

    def set_presentation(self, on: bool) -> None:
        """White on black headers, as the presentation palette's tables (the default header goes blank)."""
        self.table.horizontalHeader().setStyleSheet(
            "QHeaderView::section { color: #ffffff; background-color: #000000; border: 1px solid #888888; }"
            if on else "")

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _emit(self, signal) -> None:
        row = self.selected_row()
        if row >= 0:
            signal.emit(row)

    def _sync_buttons(self) -> None:
        ok = self.selected_row() >= 0
        self.open_button.setEnabled(ok)
        self.save_button.setEnabled(ok)
