"""Every score's AUROC on the chosen sets, side by side, with what each score needs."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from explorer.core.anomaly import SCORE_KINDS

NEEDS = {"nll": "prior", "ratio": "+ background prior", "complexity": "+ compressor"}
DETAILS = {"nll": "−log p(z) in nats: the notes' rule",
           "ratio": "−log p(z) + log p_bg(z) in nats (Ren et al. 2019); the background is a prior over the "
                    "same VQ-VAE's codes, e.g. the all-digit mnist bundle for mnist-1to4",
           "complexity": "−log2 p(z) − L(z) in bits (Serrà et al. 2020); L = code length of an adaptive "
                         "order-0 arithmetic coder over the codes, which knows nothing about images"}
TITLES = {"nll": "NLL", "ratio": "likelihood ratio", "complexity": "complexity-corrected"}


class AucTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(len(SCORE_KINDS), 3)
        self.setObjectName("anomalyAucTable")
        self.setAccessibleName("AUROC of every score")
        self.setHorizontalHeaderLabels(["score", "AUROC", "needs"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.NoSelection)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeToContents)
        for row, kind in enumerate(SCORE_KINDS):
            self.setItem(row, 0, QTableWidgetItem(TITLES[kind]))
            self.setItem(row, 1, QTableWidgetItem("—"))
            self.setItem(row, 2, QTableWidgetItem(NEEDS[kind]))
            for col in range(3):
                self.item(row, col).setToolTip(DETAILS[kind])
        self.resizeRowsToContents()

    def set_aucs(self, aucs: dict[str, float | None], current: str) -> None:
        for row, kind in enumerate(SCORE_KINDS):
            value = aucs.get(kind)
            item = self.item(row, 1)
            item.setText("—" if value is None else f"{value:.3f}")
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            for col in range(3):
                font = self.item(row, col).font()
                font.setBold(kind == current)
                self.item(row, col).setFont(font)

    def auc_text(self, kind: str) -> str:
        return self.item(SCORE_KINDS.index(kind), 1).text()

    def fit_height(self) -> None:
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        h = self.horizontalHeader().height() + sum(self.rowHeight(r) for r in range(self.rowCount())) + 4
        self.setFixedHeight(h)
        self.setMinimumWidth(sum(self.columnWidth(c) for c in range(self.columnCount())) + 4)

    def set_presentation(self, on: bool) -> None:
        """High contrast like the rest of presentation mode (item views do not follow its style sheet)."""
        self.setStyleSheet("QTableWidget { background: #000000; color: #ffffff; gridline-color: #5a5a5a; }"
                           "QHeaderView::section { background: #1a1a1a; color: #ffffff; border: 1px solid #5a5a5a; }"
                           if on else "")
        self.fit_height()
