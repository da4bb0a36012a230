"""A dismissable banner for messages too long for the status bar (e.g. "Dataset not available …
Looked for … in: <folders>"): the whole text, word-wrapped and selectable, under the model bar.

The main window routes every ``AppState.message`` through :func:`status_line`: a message that fits
the status bar goes there alone; a longer or multi-line one shows its first sentence in the status
bar and its full text in the banner, which stays until dismissed (or the next bundle opens).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

STYLE = {False: "QFrame#messageBanner { background: #fff4ce; border: 1px solid #e0c060; border-radius: 3px; }"
                "QFrame#messageBanner QLabel, QFrame#messageBanner QToolButton { color: #3d2f00; }",
         True: "QFrame#messageBanner { background: #000000; border: 2px solid #ffd000; }"
               "QFrame#messageBanner QLabel, QFrame#messageBanner QToolButton { color: #ffd000; }"}
MORE = " (details above)"


def status_line(text: str, metrics: QFontMetrics, width: int) -> str | None:
    """The status bar's line for ``text`` when it does not fit there in full (``width`` pixels, or
    it has several lines): its first sentence, pointing at the banner; None when it fits as it is."""
    first = text.split("\n", 1)[0].strip()
    if "\n" not in text.strip() and metrics.horizontalAdvance(text) <= width:
        return None
    head = first.split(". ", 1)[0].rstrip(".:") + MORE
    if metrics.horizontalAdvance(head) > width:
        head = metrics.elidedText(first, Qt.TextElideMode.ElideRight, max(0, width - metrics.horizontalAdvance(MORE)))
        head += MORE
    return head


class MessageBanner(QFrame):
    """The full text of a long message, with a close button (objectName ``messageBanner``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("Message")
        self.text = QLabel(self)
        self.text.setObjectName("messageBannerText")
        self.text.setAccessibleName("Message text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)   # copy a folder path
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("messageBannerClose")
        self.close_button.setAccessibleName("Dismiss message")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.set_presentation(False)
        self.hide()

    def show_message(self, text: str) -> None:
        self.text.setText(text.strip())
        self.show()

    def dismiss(self) -> None:
        self.text.clear()
        self.hide()

    def set_presentation(self, on: bool) -> None:
        self.setStyleSheet(STYLE[bool(on)])
