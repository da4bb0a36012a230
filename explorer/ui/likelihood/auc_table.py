"""Every score's AUROC on every comparison set: near sets (other digits) and far sets (noise, letters, ...).

One row per score, one column per set (explorer.core.anomaly_report.AurocTable); the row of the
score on show is bold, cells below the far-failure line are marked, and the recommendation and
warnings computed from the table are shown under it (``anomalyAdvice``).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor, QFont
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


SHORT = {"nll": "NLL", "ratio": "ratio", "complexity": "complexity", "combined": "combined",
         "nll-label": "NLL | label"}


class AucTable(QTableWidget):
    """One row per comparison set (near sets first, then far ones), one column per score."""

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
        self.set_table(AurocTable(["nll", "ratio", "complexity", "combined"], []), "nll")

    def set_table(self, table: AurocTable, current: str) -> None:
        """Show every cell of ``table``; ``current`` is the score on show (its column bold)."""
        self.table, self.current = table, current
        self.clear()
        self.setRowCount(len(table.columns))
        self.setColumnCount(1 + len(table.kinds))
        self.setHorizontalHeaderLabels(["AUROC vs", *[SHORT.get(k, k) for k in table.kinds]])
        self.horizontalHeaderItem(0).setToolTip("normal images against each set: near sets (other digits) "
                                                "first, then far ones (no digit at all)")
        for col, kind in enumerate(table.kinds):
            self.horizontalHeaderItem(1 + col).setToolTip(f"{TITLES.get(kind, kind)} (needs {NEEDS.get(kind, '')}): "
                                                          f"{DETAILS.get(kind, '')}")
        for row, column in enumerate(table.columns):
            name = QTableWidgetItem(("far: " if column.far else "near: ") + column.title)
            name.setToolTip(f"{'far' if column.far else 'near'} set: {column.title}")
            self.setItem(row, 0, name)
            for col, kind in enumerate(table.kinds):
                value = table.get(kind, column.key)
                pending = "—" if column.key in table.scored else "…"     # n/a (e.g. no labels) / still scoring
                item = QTableWidgetItem(pending if value is None else f"{value:.3f}")
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                item.setToolTip(DETAILS.get(kind, ""))
                font = item.font()
                font.setBold(kind == current)
                item.setFont(font)
                if value is not None and column.far and value < FAR_FAIL_AUROC:
                    item.setForeground(QBrush(FAIL_COLOUR))
                    item.setText(f"{value:.3f} ⚠")
                    item.setToolTip(f"AUROC {value:.3f} < {FAR_FAIL_AUROC}: {TITLES.get(kind, kind)} calls most "
                                    f"of the {column.title} normal")
                self.setItem(row, 1 + col, item)
        self._bold_current_header()
        self.fit_height()

    def _bold_current_header(self) -> None:
        """The column of the score on show has a bold header, in the header's own font: a header item's
        font sizes its section, so a font taken from elsewhere (the application's, smaller than
        presentation mode's) would clip the header text."""
        if self.table is None:
            return
        for col, kind in enumerate(self.table.kinds):
            font = QFont(self.horizontalHeader().font())
            font.setBold(kind == self.current)
            self.horizontalHeaderItem(1 + col).setFont(font)

    def changeEvent(self, event: QEvent) -> None:
        """Presentation mode changes the window's font: size the header and columns to it again."""
        super().changeEvent(event)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange) and self.table is not None:
            self._bold_current_header()
            self.fit_height()

    def set_current(self, kind: str) -> None:
        if self.table is not None:
            self.set_table(self.table, kind)

    def auc_text(self, kind: str, key: str | None = None) -> str:
        """The cell of ``kind`` for set ``key`` (default the first row: the chosen anomalous set); "—" if none."""
        if self.table is None or kind not in self.table.kinds or not self.table.columns:
            return "—"
        keys = [c.key for c in self.table.columns]
        row = keys.index(key) if key in keys else 0
        text = self.item(row, 1 + self.table.kinds.index(kind)).text()
        return "—" if text in ("…", "—") else text.split(" ")[0]

    def fit_height(self) -> None:
        """Tall and wide enough for every row and column (the panel scrolls the table with its advice)."""
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        header = self.horizontalHeader()
        self.setFixedHeight(header.height() + sum(self.rowHeight(r) for r in range(self.rowCount()))
                            + 2 * self.frameWidth() + 2)
        self.setMinimumWidth(header.length() + 2 * self.frameWidth() + 2)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

    def set_presentation(self, on: bool) -> None:
        """High contrast like the rest of presentation mode (item views do not follow its style sheet)."""
        self.setStyleSheet("QTableWidget { background: #000000; color: #ffffff; gridline-color: #5a5a5a; }"
                           "QHeaderView::section { background: #1a1a1a; color: #ffffff; border: 1px solid #5a5a5a; }"
                           if on else "")
        self.fit_height()
