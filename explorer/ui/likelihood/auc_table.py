"""Every score's AUROC on every comparison set: near sets (other digits) and far sets (noise, letters, ...).

One row per score, one column per set (explorer.core.anomaly_report.AurocTable); the row of the
score on show is bold, cells below the far-failure line are marked, and the recommendation and
warnings computed from the table are shown under it (``anomalyAdvice``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from explorer.core.anomaly_report import FAR_FAIL_AUROC, AurocTable

NEEDS = {"nll": "prior", "ratio": "+ background prior", "complexity": "+ compressor",
         "combined": "+ normal images", "nll-label": "+ labels"}
DETAILS = {"nll": "−log p(z) in nats: the notes' rule (class-marginalised for a class-conditional prior)",
           "ratio": "−log p(z) + log p_bg(z) in nats (Ren et al. 2019); the background is a prior over the "
                    "same VQ-VAE's codes, e.g. the all-digit mnist bundle for mnist-1to4",
           "complexity": "−log2 p(z) − L(z) in bits (Serrà et al. 2020); L = code length of an adaptive "
                         "order-0 arithmetic coder over the codes, which knows nothing about images",
           "combined": "−log q(ratio, complexity): a kernel density of the two scores over the normal images "
                       "(DoSE, Morningstar et al. 2021), so an input is flagged when its pair of scores is unlike "
                       "any normal image's, near or far; (NLL, complexity) without a background",
           "nll-label": "−log p(z | c) in nats given the image's own label c (class-conditional prior)"}
TITLES = {"nll": "NLL", "ratio": "likelihood ratio", "complexity": "complexity-corrected",
          "combined": "combined (DoSE)", "nll-label": "NLL given the label"}
FAIL_COLOUR = QColor(213, 94, 0)                 # Okabe-Ito vermillion: readable on white and on black


class AucTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(0, 1)
        self.setObjectName("anomalyAucTable")
        self.setAccessibleName("AUROC of every score on every set")
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table: AurocTable | None = None
        self.current = ""
        self._presentation = False
        self.set_table(AurocTable(["nll", "ratio", "complexity", "combined"], []), "nll")

    def set_table(self, table: AurocTable, current: str) -> None:
        """Show every cell of ``table``; ``current`` is the score on show (bold)."""
        self.table, self.current = table, current
        self.clear()
        self.setRowCount(len(table.kinds))
        self.setColumnCount(2 + len(table.columns))
        headers = ["score", *[c.title for c in table.columns], "needs"]
        self.setHorizontalHeaderLabels(headers)
        for i, column in enumerate(table.columns):
            self.horizontalHeaderItem(1 + i).setToolTip(
                f"{'far' if column.far else 'near'} set: {column.title} ({column.key})")
        for row, kind in enumerate(table.kinds):
            self._set(row, 0, TITLES.get(kind, kind), kind)
            for i, column in enumerate(table.columns):
                value = table.get(kind, column.key)
                item = self._set(row, 1 + i, "—" if value is None else f"{value:.3f}", kind)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if value is not None and column.far and value < FAR_FAIL_AUROC:
                    item.setForeground(QBrush(FAIL_COLOUR))
                    item.setToolTip(f"AUROC {value:.3f} < {FAR_FAIL_AUROC}: this score calls most of "
                                    f"{column.title} normal")
            self._set(row, 1 + len(table.columns), NEEDS.get(kind, ""), kind)
        self.fit_height()

    def _set(self, row: int, col: int, text: str, kind: str) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        item.setToolTip(DETAILS.get(kind, ""))
        font = item.font()
        font.setBold(kind == self.current)
        item.setFont(font)
        self.setItem(row, col, item)
        return item

    def set_current(self, kind: str) -> None:
        if self.table is not None:
            self.set_table(self.table, kind)

    def auc_text(self, kind: str, key: str | None = None) -> str:
        """The cell of ``kind`` in column ``key`` (default the first column: the chosen anomalous set)."""
        if self.table is None or kind not in self.table.kinds or not self.table.columns:
            return "—"
        keys = [c.key for c in self.table.columns]
        col = keys.index(key) if key in keys else 0
        return self.item(self.table.kinds.index(kind), 1 + col).text()

    def fit_height(self) -> None:
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        bar = self.horizontalScrollBar().sizeHint().height()
        h = self.horizontalHeader().height() + sum(self.rowHeight(r) for r in range(self.rowCount())) + 4 + bar
        self.setFixedHeight(h)

    def set_presentation(self, on: bool) -> None:
        """High contrast like the rest of presentation mode (item views do not follow its style sheet)."""
        self._presentation = on
        self.setStyleSheet("QTableWidget { background: #000000; color: #ffffff; gridline-color: #5a5a5a; }"
                           "QHeaderView::section { background: #1a1a1a; color: #ffffff; border: 1px solid #5a5a5a; }"
                           if on else "")
        self.fit_height()
