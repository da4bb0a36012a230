"""Presentation mode for classrooms: larger fonts, a high-contrast palette, thicker plot lines.

:class:`PresentationStyle` remembers a window's font, palette and style sheet and restores
them when the mode is turned off; panels with ``set_presentation(bool)`` restyle their plots.
"""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QWidget

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
FONT_SCALE = 1.6                    # presentation font = normal font x 1.6 (9 pt -> 14 pt)
MIN_FONT_PT = 14
PLOT_TEXT_PT = {False: 9, True: 15}  # plot tick labels, axis labels and legends: normal, presentation
TITLE_EXTRA_PT = 2                  # plot titles are this much larger than the axis text
LONG_TITLE_CHARS = 30               # presentation titles longer than this break into lines
TITLE_BREAKS = (" · ", ": ", " (")  # where a long title may break (" (" only when it has no other)


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


def plot_font(on: bool) -> QFont:
    """The font of tick labels, axis labels and legends in (or out of) presentation mode."""
    font = QFont()
    font.setPointSize(PLOT_TEXT_PT[on])
    return font


def title_size(on: bool) -> str:
    """The ``size`` argument for a pyqtgraph title, e.g. ``plot.setTitle(text, size=title_size(on))``."""
    return f"{PLOT_TEXT_PT[on] + TITLE_EXTRA_PT}pt"


def fit_title(text: str, on: bool, max_chars: int = LONG_TITLE_CHARS) -> str:
    """A plot title as shown: in presentation mode a long one is broken into lines of at most
    ``max_chars`` characters, at its separators (" · ", ": ", " ("), so it fits a half-screen plot."""
    if not on or len(text) <= max_chars or "<br>" in text:
        return text
    seps = [sep for sep in TITLE_BREAKS[:2] if sep in text] or [TITLE_BREAKS[2]]   # " (" only as a last resort
    pieces, rest = [], text
    while rest:                                  # cut after each separator (keeping ":" and "·")
        cuts = [(rest.find(sep), sep) for sep in seps if rest.find(sep) > 0]
        if not cuts:
            pieces.append(rest)
            break
        at, sep = min(cuts)
        head = rest[:at] + (sep.rstrip(" (") if sep != " (" else "")
        pieces.append(head)
        rest = rest[at + len(sep):] if sep != " (" else rest[at + 1:]
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) <= max_chars:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return "<br>".join(lines)


def set_plot_title(item, text: str, **options) -> None:
    """``PlotItem.setTitle`` with a title row as tall as the text (pyqtgraph fixes it at 30 px,
    which cuts large or two-line titles)."""
    item.setTitle(text, **options)
    height = int(item.titleLabel.item.boundingRect().height()) + 2
    item.titleLabel.setMaximumHeight(height)
    item.layout.setRowFixedHeight(0, height)


class _TitleRefit(QObject):
    """Re-breaks a plot's presentation title when the plot is resized."""

    def __init__(self, plot) -> None:
        super().__init__(plot)
        self.plot = plot
        self.on = False
        self.width = -1

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize and self.on and abs(self.plot.width() - self.width) > 8:
            self.width = self.plot.width()
            _apply_title(self.plot, self.on, None)
        return False


def _apply_title(plot, on: bool, title_color: str | None) -> None:
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    text = getattr(item, "_presentation_title", None)
    if text is None and item.titleLabel.isVisible():
        text = item.titleLabel.text
    if text:
        options = {"size": title_size(on)}
        if title_color is not None:
            options["color"] = title_color
        set_plot_title(item, fit_title(text, on, title_chars(plot, on, bold=False)), **options)


def title_chars(plot, on: bool, bold: bool = True) -> int:
    """How many characters of a presentation title fit the plot's current width (at least 20)."""
    width = plot.width() if hasattr(plot, "width") and callable(plot.width) else 0
    width -= 70                                                         # the left axis beside the title
    char_px = (0.68 if bold else 0.6) * (PLOT_TEXT_PT[on] + TITLE_EXTRA_PT) * 96 / 72   # a typical advance
    return max(20, int(width / char_px)) if width > 100 else LONG_TITLE_CHARS


PRESENTATION_PLOT_TEXT = "#111111"     # titles, axis and tick labels on the white plots in presentation mode
LIGHT_PLOT_TEXT = "#222222"            # axis text on a light plot when pyqtgraph's foreground is too faint there
DARK_PLOT_TEXT = "#ffffff"             # axis text on a dark plot
MIN_TEXT_CONTRAST = 4.5                # WCAG AA contrast ratio for normal-size text


def relative_luminance(color) -> float:
    """WCAG 2 relative luminance of a colour (0 black … 1 white)."""
    c = QColor(color)

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast_ratio(a, b) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (same) … 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def plot_background(plot) -> QColor:
    """The colour a pyqtgraph plot (PlotWidget or PlotItem) is drawn on."""
    views = []
    if hasattr(plot, "backgroundBrush"):
        views.append(plot)
    elif plot.scene() is not None:
        views.extend(plot.scene().views())
    for view in views:
        brush = view.backgroundBrush()
        if brush.style() != Qt.BrushStyle.NoBrush:
            return brush.color()
    return pg.mkColor(pg.getConfigOption("background"))


def plot_text_colour(plot, on: bool) -> QColor:
    """The colour of a plot's tick and axis labels: pyqtgraph's configured foreground where it is
    readable on the plot's background (WCAG AA), else dark on a light plot, white on a dark one.
    In presentation mode a light plot gets near-black (the back row must read it)."""
    background = plot_background(plot)
    dark_background = relative_luminance(background) < 0.18
    if on:
        return QColor(DARK_PLOT_TEXT if dark_background else PRESENTATION_PLOT_TEXT)
    foreground = pg.mkColor(pg.getConfigOption("foreground"))
    if contrast_ratio(foreground, background) >= MIN_TEXT_CONTRAST:
        return foreground
    return QColor(DARK_PLOT_TEXT if dark_background else LIGHT_PLOT_TEXT)


def style_plot(plot, on: bool, title: str | None = None, title_color: str | None = None,
               text_color: str | None = None) -> None:
    """Grow (``on``) or restore a pyqtgraph plot's title, axis labels, tick labels and legend.

    ``plot`` is a PlotWidget or PlotItem. ``title`` (plain text or simple HTML) replaces the
    current title; it is broken onto two lines in presentation mode when long. Panels call
    this from ``set_presentation`` and whenever they change a title. Tick and axis labels are
    drawn in ``text_color``, by default :func:`plot_text_colour` (readable on the plot's own
    background in either mode: the colour is always given explicitly, since pyqtgraph 0.14
    turns ``setTextPen(None)`` into an invisible pen).
    """
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    font = plot_font(on)
    if title is not None:
        item._presentation_title = title          # the unbroken text, for the next toggle
    text = QColor(text_color) if text_color is not None else plot_text_colour(plot, on)
    if title_color is None:                       # pyqtgraph's grey is faint on a white plot; and a title
        title_color = text.name()                 # keeps the colour it was last given, so always give one
    _apply_title(plot, on, title_color)
    if isinstance(plot, QWidget):                 # re-break the title when the plot is resized
        refit = getattr(plot, "_title_refit", None)
        if refit is None:
            refit = plot._title_refit = _TitleRefit(plot)
            plot.installEventFilter(refit)
        refit.on = on
    for side in ("left", "bottom", "right", "top"):
        if side not in item.axes:
            continue
        axis = item.getAxis(side)
        axis.setTickFont(font)
        axis.label.setFont(font)
        axis.setTextPen(pg.mkPen(text))           # sets labelStyle["color"] too (pyqtgraph >= 0.13)
        axis.labelStyle["color"] = text.name()
        axis.labelStyle["font-size"] = f"{PLOT_TEXT_PT[on]}pt"
        axis._updateLabel()                      # re-renders the label and re-sizes the axis
    legend = item.legend
    if legend is not None:
        for _sample, label in legend.items:
            label.setText(label.text, size=f"{PLOT_TEXT_PT[on]}pt")


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
