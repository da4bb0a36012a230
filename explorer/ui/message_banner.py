"""A dismissable banner for messages too long for the status bar (e.g. "Dataset not available …
Looked for … in: <folders>"): one line under the model bar, its full text one click away.

The main window routes every ``AppState.message`` through :func:`fits_status_bar`: a message that
fits the status bar goes there; a longer or multi-line one goes to the banner instead, which shows
its first sentence and, under "Details", the rest (word-wrapped, selectable: a folder path can be
copied). It stays until dismissed or the next bundle opens.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QToolButton, QWidget

STYLE = {False: "QFrame#messageBanner { background: #fff4ce; border: 1px solid #e0c060; border-radius: 3px; }"
                "QFrame#messageBanner QLabel, QFrame#messageBanner QToolButton { color: #3d2f00; }",
         True: "QFrame#messageBanner { background: #000000; border: 2px solid #ffd000; }"
               "QFrame#messageBanner QLabel, QFrame#messageBanner QToolButton { color: #ffd000; }"}
DETAILS = {False: "Details ▸", True: "Hide details ▾"}


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


class MessageBanner(QFrame):
    """One long message: its first sentence, "Details" for the rest, and a close button
    (objectName ``messageBanner``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("Message")
        self.summary = self._label("messageBannerText", "Message text")
        self.details = self._label("messageBannerDetails", "Message details")
        self.details_button = QToolButton(self)
        self.details_button.setObjectName("messageBannerDetailsButton")
        self.details_button.setAccessibleName("Show the message's details")
        self.details_button.setCheckable(True)
        self.details_button.setAutoRaise(True)
        self.details_button.toggled.connect(self._show_details)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("messageBannerClose")
        self.close_button.setAccessibleName("Dismiss message")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.summary, 0, 0)
        layout.addWidget(self.details_button, 0, 1, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.close_button, 0, 2, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.details, 1, 0, 1, 3)
        layout.setColumnStretch(0, 1)
        self.set_presentation(False)
        self.hide()

    def _label(self, name: str, accessible: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # never widens the window
        return label

    def show_message(self, text: str) -> None:
        summary, rest = split_message(text)
        self.summary.setText(summary)
        self.details.setText(rest)
        self.details_button.setVisible(bool(rest))
        self.details_button.setChecked(False)
        self._show_details(False)
        self.show()

    def full_text(self) -> str:
        return "\n".join(part for part in (self.summary.text(), self.details.text()) if part)

    def dismiss(self) -> None:
        self.summary.clear()
        self.details.clear()
        self.hide()

    def _show_details(self, on: bool) -> None:
        self.details.setVisible(on and bool(self.details.text()))
        self.details_button.setText(DETAILS[on])

    def set_presentation(self, on: bool) -> None:
        self.setStyleSheet(STYLE[bool(on)])
