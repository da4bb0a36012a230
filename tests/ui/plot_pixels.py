"""Where a pyqtgraph axis draws its tick labels (and its axis label, and the plot's title), and
whether those pixels can be read.

Used by tests/ui/test_plot_ticks.py: the tick-label rectangles come from the axis' own
``generateDrawSpecs`` (what ``AxisItem.paint`` draws), mapped to the plot widget; the pixels
come from ``QWidget.grab`` (what the user sees), compared with the plot's background colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QStackedWidget, QTabWidget, QWidget

READABLE_CONTRAST = 3.0     # WCAG contrast ratio of the label's strongest pixel against the background


@dataclass
class TickLabel:
    text: str
    rect: QRect             # in the plot widget's pixels
    contrast: float         # the strongest pixel's contrast ratio with the plot background


@dataclass
class AxisReport:
    plot: str               # the plot widget's objectName (or its class) and the axis side
    labels: list[TickLabel]
    title: TickLabel | None = None      # the axis label ("step", "k", ...), when shown

    def unreadable(self) -> list[TickLabel]:
        texts = self.labels + ([self.title] if self.title is not None else [])
        return [label for label in texts if label.contrast < READABLE_CONTRAST]

    def overlapping(self, slack_px: int = 2) -> list[tuple[str, str]]:
        """Pairs of labels whose text boxes overlap by more than ``slack_px`` (rounding) in the axis'
        direction: numbers stacked on, or touching, each other."""
        vertical = self.plot.endswith(("left", "right"))
        pairs = []
        for i, a in enumerate(self.labels):
            for b in self.labels[i + 1:]:
                common = a.rect.intersected(b.rect)
                if not common.isEmpty() and (common.height() if vertical else common.width()) > slack_px:
                    pairs.append((a.text, b.text))
        return pairs


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of (..., 3) RGB values 0..255."""
    c = rgb.astype(np.float64) / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def contrast_with(rgb: np.ndarray, background: QColor) -> np.ndarray:
    """Contrast ratio (1 … 21) of each pixel with the background colour."""
    pixel = relative_luminance(rgb)
    bg = float(relative_luminance(np.array([background.red(), background.green(), background.blue()])))
    return (np.maximum(pixel, bg) + 0.05) / (np.minimum(pixel, bg) + 0.05)


def widget_rgb(widget: QWidget) -> np.ndarray:
    """The widget as drawn, an (H, W, 3) uint8 array in widget pixels."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    if image.size() != widget.size():
        image = image.scaled(widget.size())
    arr = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return arr[:, :image.width(), 2::-1].copy()              # BGRA -> RGB


def tick_label_rects(axis: pg.AxisItem) -> list[tuple[QRectF, str]]:
    """The tick labels the axis draws, in its own coordinates (as ``AxisItem.paint`` lays them out)."""
    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        if axis.style["tickFont"]:
            painter.setFont(axis.style["tickFont"])
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if specs is None:
        return []
    bounds = axis.boundingRect()
    return [(QRectF(rect).intersected(bounds), text) for rect, _flags, text in specs[2] if text]


def show_page_of(widget: QWidget) -> None:
    """Bring forward every tab page (and stacked page) that holds ``widget``."""
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QStackedWidget) and parent.indexOf(child) >= 0:
            tabs = parent.parentWidget()
            if isinstance(tabs, QTabWidget):
                tabs.setCurrentWidget(child)
        child, parent = parent, parent.parentWidget()
    QApplication.processEvents()


def plot_name(view: QWidget) -> str:
    return view.objectName() or type(view).__name__


def axis_reports(view: pg.GraphicsView) -> list[AxisReport]:
    """Every visible, value-showing axis of the plot widget, with its labels' contrast."""
    axes = [item for item in view.scene().items()
            if isinstance(item, pg.AxisItem) and item.isVisible() and item.style["showValues"]]
    if not axes:
        return []
    rgb = widget_rgb(view)
    background = view.backgroundBrush().color()
    reports = []
    image = QRect(0, 0, rgb.shape[1], rgb.shape[0])

    def measured(text: str, scene_rect) -> TickLabel | None:
        box = view.mapFromScene(scene_rect).boundingRect().intersected(image)
        if box.width() < 2 or box.height() < 2:
            return None
        crop = rgb[box.top():box.bottom() + 1, box.left():box.right() + 1]
        return TickLabel(text, box, float(contrast_with(crop, background).max()))

    for axis in axes:
        labels = [label for rect, text in tick_label_rects(axis)
                  if (label := measured(text, axis.mapRectToScene(rect))) is not None]
        title = None
        if axis.label.isVisible() and axis.label.toPlainText().strip():
            title = measured(f"axis label {axis.label.toPlainText()!r}",
                             axis.label.mapRectToScene(axis.label.boundingRect()))
        reports.append(AxisReport(f"{plot_name(view)}.{axis.orientation}", labels, title))
    for plot_item in {axis.parentItem() for axis in axes}:
        label = getattr(plot_item, "titleLabel", None)
        if label is not None and label.isVisible() and label.item.toPlainText().strip():
            text = label.item
            title = measured(f"title {text.toPlainText()!r}", text.mapRectToScene(text.boundingRect()))
            reports.append(AxisReport(f"{plot_name(view)}.title", [], title))   # checked for contrast only
    return reports
