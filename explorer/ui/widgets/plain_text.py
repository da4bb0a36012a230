"""Text that comes from a file is shown as the characters it holds, never as markup.

Qt guesses the format of a QLabel's text, a tooltip and a QMessageBox's text
(``Qt.AutoText``: anything that looks like a tag is rich text). A bundle named
``<img src='/dev/zero'>`` would then make Qt read /dev/zero (until memory runs out), a FIFO
would hang the GUI thread, and ``<b style='font-size:300px'>`` would paint over the toolbar.
So every place that can show a bundle's name, a file name, a path, a model's or dataset's
message, or any exception text uses one of these:

* :func:`plain` on the QLabel or QMessageBox that shows it (``Qt.PlainText``, set once);
* :func:`literal` for the strings Qt still guesses about (tooltips, ``QMessageBox.warning``
  and friends, labels that must stay rich for other texts);
* :func:`escape_markup` for file text placed inside markup the program writes itself (a
  bold name in the model bar, a pyqtgraph legend entry, which is always HTML).
"""
from __future__ import annotations

import html
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

ShowsText = TypeVar("ShowsText", QLabel, QMessageBox)


def plain(widget: ShowsText) -> ShowsText:
    """Show ``widget``'s text (a QLabel's, or a QMessageBox's text and informative text) as
    plain characters from now on; returns the widget."""
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def escape_markup(text: object) -> str:
    """``text`` escaped for a place that is always rich text: ``<`` ``>`` ``&`` become entities."""
    return html.escape(str(text), quote=False)


def literal(text: object) -> str:
    """``text`` for a place where Qt guesses the format (tooltips, message-box functions): left as
    it is when nothing in it can look like markup, else escaped and wrapped as rich text that
    shows every character (line breaks and runs of spaces kept)."""
    text = str(text)
    if "<" not in text and "&" not in text:
        return text
    return "<p style='white-space:pre-wrap'>" + escape_markup(text) + "</p>"
