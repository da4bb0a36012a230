"""A long message in the status bar, readable in full (e.g. "Dataset not available … Looked for …
in: <folders>", which the device label used to cut off).

The main window routes every ``AppState.message`` through :func:`fits_status_bar`: a message that
fits goes to the status bar as a 10-second message; a longer or multi-line one becomes the notice:
its first sentence with "Details…" (the whole text in a dialog, selectable so a folder path can be
copied) and "✕" (dismiss). The notice lives in the status bar, so it costs the panels no height
(a banner above them squeezed presentation mode at 1280×800); the whole text is its tooltip too.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QMessageBox, QSizePolicy, QWidget


def fits_status_bar(text: str, metrics: QFontMetrics, width: int) -> bool:
    """Whether ``text`` reads in full in a status bar ``width`` pixels wide (one line that fits)."""
    return "\n" not in text.strip() and metrics.horizontalAdvance(text) <= width


def split_message(text: str) -> tuple[str, str]:
    """(first sentence, the rest) of a message; the rest may be empty."""
    text = text.strip()
    first_line, _, other_lines = text.partition("\n")
    head, dot, tail = first_line.partition(". ")
    summary = head + ("." if dot else "")
    rest = "\n".join(part for part in (tail.strip(), other_lines) if part)
    return summary, rest


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


class MessageNotice(QLabel):
    """The status bar's notice of one long message (objectName ``messageNotice``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageNotice")
        self.setAccessibleName("Message")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # never widens the window
        self.linkActivated.connect(self._link)
        self.full_text = ""
        self.dialog: QMessageBox | None = None
        self.hide()

    def show_message(self, text: str) -> None:
        self.full_text = text.strip()
        summary, rest = split_message(text)
        links = "&nbsp; <a href='details'>Details…</a>" if rest else ""
        self.setText(f"{_html(summary)}{links} &nbsp;<a href='dismiss'>✕</a>")
        self.setToolTip(f"<p>{_html(self.full_text)}</p>")
        self.show()

    def dismiss(self) -> None:
        self.full_text = ""
        self.clear()
        self.setToolTip("")
        self.hide()

    def show_details(self) -> QMessageBox:
        """The whole message in a dialog (objectName ``messageDetailsDialog``), text selectable."""
        summary, rest = split_message(self.full_text)
        if self.dialog is None:
            self.dialog = QMessageBox(self.window())
            self.dialog.setObjectName("messageDetailsDialog")
            self.dialog.setAccessibleName("Message details")
            self.dialog.setIcon(QMessageBox.Icon.Information)
            self.dialog.setWindowTitle("Message")
            self.dialog.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dialog.setText(summary)
        self.dialog.setInformativeText(_html(rest))
        self.dialog.open()
        return self.dialog

    def _link(self, which: str) -> None:
        if which == "details":
            self.show_details()
        else:
            self.dismiss()
