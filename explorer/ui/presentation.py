"""Presentation mode for classrooms: larger fonts, a high-contrast palette, thicker plot lines.

:class:`PresentationStyle` remembers a window's font, palette and style sheet and restores
them when the mode is turned off; panels with ``set_presentation(bool)`` restyle their plots.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QWidget

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
FONT_SCALE = 1.6                    # presentation font = normal font x 1.6 (9 pt -> 14 pt)
MIN_FONT_PT = 14


def resource_path(name: str) -> Path:
    """A file in the repository's ``resources/`` folder (icons, styles)."""
    return RESOURCES / name


def high_contrast_palette() -> QPalette:
    """White on black, yellow selection: readable from the back of a lecture hall."""
    p = QPalette()
    black, white, yellow, grey = QColor("#000000"), QColor("#ffffff"), QColor("#ffd000"), QColor("#8a8a8a")
    for role, color in ((QPalette.ColorRole.Window, black), (QPalette.ColorRole.WindowText, white),
                        (QPalette.ColorRole.Base, black), (QPalette.ColorRole.AlternateBase, QColor("#1a1a1a")),
                        (QPalette.ColorRole.Text, white), (QPalette.ColorRole.Button, QColor("#1a1a1a")),
                        (QPalette.ColorRole.ButtonText, white), (QPalette.ColorRole.Highlight, yellow),
                        (QPalette.ColorRole.HighlightedText, black), (QPalette.ColorRole.ToolTipBase, white),
                        (QPalette.ColorRole.ToolTipText, black), (QPalette.ColorRole.PlaceholderText, grey),
                        (QPalette.ColorRole.Link, QColor("#56B4E9"))):
        p.setColor(role, color)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, grey)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, grey)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, grey)
    return p


def presentation_style_sheet() -> str:
    try:
        return resource_path("presentation.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


class PresentationStyle:
    """Turns presentation mode on and off for one top-level widget."""

    def __init__(self, window: QWidget) -> None:
        self.window = window
        self.enabled = False
        self._saved: tuple[QFont, QPalette, str, QSize] | None = None

    def set_enabled(self, on: bool) -> None:
        if on == self.enabled:
            return
        w = self.window
        if on:
            self._saved = (QFont(w.font()), QPalette(w.palette()), w.styleSheet(), w.size())
            font = QFont(w.font())
            size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
            font.setPointSizeF(max(MIN_FONT_PT, round(size * FONT_SCALE)))
            w.setPalette(high_contrast_palette())
            w.setFont(font)
            # Style-sheet-polished widgets stop inheriting the window's font and text colour:
            # say them in the sheet too.
            w.setStyleSheet(f"QWidget {{ font-size: {font.pointSizeF():g}pt; color: #ffffff; }}\n"
                            f"{presentation_style_sheet()}")
        elif self._saved is not None:
            font, palette, sheet, size = self._saved
            w.setStyleSheet(sheet)
            w.setPalette(palette)
            w.setFont(font)
            w.resize(size)                    # larger fonts may have grown the window
        self.enabled = on
