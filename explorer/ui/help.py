"""Help > Panels (F1): what each panel shows, with the equation from the course notes."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QListWidget, QTextBrowser, QVBoxLayout, QWidget


@dataclass(frozen=True)
class HelpTopic:
    object_name: str                # the panel's objectName
    title: str
    html: str                       # the panel's help_text


def shortcuts_html(rows: list[tuple[str, str]]) -> str:
    """A table of (action, shortcut) rows."""
    body = "".join(f"<tr><td>{action}</td><td><b>{keys}</b></td></tr>" for action, keys in rows if keys)
    return f"<h3>Keyboard shortcuts</h3><table cellpadding='3'>{body}</table>"


class HelpDialog(QDialog):
    """A topic list (one per panel) beside the selected panel's explanation."""

    def __init__(self, topics: list[HelpTopic], shortcuts: list[tuple[str, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpDialog")
        self.setAccessibleName("Help")
        self.setWindowTitle("Discrete Latent Explorer – Help")
        self.topics = topics
        self.shortcuts = shortcuts
        self.topic_list = QListWidget(self)
        self.topic_list.setObjectName("helpTopics")
        self.topic_list.setAccessibleName("Help topics")
        self.topic_list.addItems([t.title for t in topics] + ["Keyboard shortcuts"])
        self.topic_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text = QTextBrowser(self)
        self.text.setObjectName("helpText")
        self.text.setAccessibleName("Help text")
        self.text.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.topic_list)
        row.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self.topic_list.currentRowChanged.connect(self._show_row)
        self.resize(820, 520)

    def fit_topic_list(self) -> None:
        """The topic list as wide as its longest title in the current font (presentation mode)."""
        self.topic_list.ensurePolished()             # the presentation style sheet's font, if any
        metrics = self.topic_list.fontMetrics()
        longest = max(metrics.horizontalAdvance(self.topic_list.item(i).text()) for i in range(self.topic_list.count()))
        self.topic_list.setFixedWidth(longest + 2 * self.topic_list.frameWidth() + 24)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):   # presentation mode
            self.fit_topic_list()

    def show_topic(self, object_name: str) -> None:
        """Select the topic of a panel (by objectName) and bring the dialog up."""
        self.fit_topic_list()
        names = [t.object_name for t in self.topics]
        self.topic_list.setCurrentRow(names.index(object_name) if object_name in names else 0)
        self.show()
        self.raise_()

    def current_html(self) -> str:
        return self.text.toHtml()

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(self.topics):
            t = self.topics[row]
            body = t.html or "<p>This panel has no help text yet.</p>"
            self.text.setHtml(f"<h2>{t.title}</h2>{body}")
        else:
            self.text.setHtml(shortcuts_html(self.shortcuts))
