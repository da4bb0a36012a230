"""The mouse wheel scrolls a form; it changes a field only once the user has clicked into it.

Qt's spin boxes and combo boxes take the wheel by default, so scrolling a long settings form
with the pointer passing over a field silently changes that field (Prior → Kernel size 3 → 1).
:func:`scroll_not_change` installs one event filter on a field: a wheel event reaching a field
that does not have the keyboard focus is passed on to the field's parents (the scroll area),
and the wheel never gives such a field the focus either.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget


class WheelToParent(QObject):
    """Event filter: wheel events on an unfocused widget go to its parent instead."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()       # not accepted: QApplication offers it to the parent widgets
            return True          # and the field itself never sees it
        return False


_FILTER: WheelToParent | None = None


def scroll_not_change(widget: QWidget) -> QWidget:
    """Make ``widget`` (a spin box or combo box) ignore the wheel until it has the focus."""
    global _FILTER
    if _FILTER is None:
        _FILTER = WheelToParent()
    if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)       # the wheel does not focus it
    widget.installEventFilter(_FILTER)
    return widget
