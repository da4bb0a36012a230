"""Does every visible text fit its widget? (presentation mode must clip nothing).

:func:`clipped_texts` walks a window's visible widgets and reports each label, button, check
box, combo box, line edit, tab, group-box title and plot title or axis label whose text needs
more room than the widget has. Tests call it on every panel (tests/ui/test_presentation_fit.py);
``python -m explorer screenshot --panel NAME --presentation --check-fit`` prints the same list.

A widget whose text is cut short *by design* (a path that scrolls, a label that elides with the
full text in its tooltip) opts out with the dynamic property ``textFitExempt`` set to True on
it or on any ancestor: ``widget.setProperty(TEXT_FIT_EXEMPT, True)``.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetricsF, QTextDocument
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QCheckBox, QComboBox, QGraphicsTextItem,
                               QGraphicsView, QGroupBox, QLabel, QLineEdit, QListWidget, QPushButton, QRadioButton,
                               QStyle, QStyleOptionButton, QStyleOptionComboBox, QStyleOptionFrame, QTabBar,
                               QToolButton, QWidget)

TEXT_FIT_EXEMPT = "textFitExempt"   # dynamic property: this widget (and its children) may cut text short
SLACK_PX = 2.0                      # rounding, and the last glyph's empty advance (no ink is cut)
GRAPHICS_SLACK_PX = 3.0             # a text item's box includes the font's leading: a few px may go


@dataclass(frozen=True)
class Clip:
    """One text that does not fit."""
    widget: str                     # objectName (or class name) and the path of parents
    text: str
    needed: float                   # pixels the text needs (width, or height for wrapped labels)
    available: float                # pixels it has

    def __str__(self) -> str:
        return f"{self.widget}: {self.text[:60]!r} needs {self.needed:.0f} px, has {self.available:.0f}"


def describe(widget: QWidget) -> str:
    """``panel/row/objectName`` (class names where a widget has no objectName)."""
    parts, w = [], widget
    while w is not None and len(parts) < 4:
        parts.append(w.objectName() or type(w).__name__)
        w = w.parentWidget()
    return "/".join(reversed(parts))


def is_exempt(widget: QWidget) -> bool:
    w = widget
    while w is not None:
        if w.property(TEXT_FIT_EXEMPT):
            return True
        w = w.parentWidget()
    return False


def _plain(text: str) -> str:
    """Text as drawn: rich text to plain, mnemonic ampersands removed."""
    if "<" in text and ">" in text:
        doc = QTextDocument()
        doc.setHtml(text)
        return doc.toPlainText()
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _advance(widget: QWidget, text: str) -> float:
    metrics = QFontMetricsF(widget.font())
    return max((metrics.horizontalAdvance(line) for line in text.split("\n")), default=0.0)


# -- one check per kind of widget ------------------------------------------------------------
def _label(w: QLabel) -> Clip | None:
    if not w.text() or w.pixmap() is not None and not w.pixmap().isNull():
        return None
    if w.wordWrap():
        need = w.heightForWidth(w.width())
        return Clip(describe(w), _plain(w.text()), need, w.height()) if need > w.height() + SLACK_PX else None
    need = w.sizeHint().width()
    if need > w.width() + SLACK_PX:
        return Clip(describe(w), _plain(w.text()), need, w.width())
    return None


def _push_button(w: QPushButton) -> Clip | None:
    opt = QStyleOptionButton()
    opt.initFrom(w)
    opt.text = w.text()
    contents = w.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, opt, w)
    need = _advance(w, _plain(w.text()))
    if not w.icon().isNull():
        need += w.iconSize().width() + 4
    if w.menu() is not None:
        need += w.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, opt, w)
    return Clip(describe(w), _plain(w.text()), need, contents.width()) if need > contents.width() + SLACK_PX else None


def _button(w: QAbstractButton) -> Clip | None:
    """Check boxes, radio buttons and tool buttons: their size hint is indicator + text + padding."""
    if isinstance(w, QToolButton) and w.toolButtonStyle() == w.toolButtonStyle().ToolButtonIconOnly:
        return None
    need = w.sizeHint().width()
    return Clip(describe(w), _plain(w.text()), need, w.width()) if need > w.width() + SLACK_PX else None


def _combo(w: QComboBox) -> Clip | None:
    """Every item must fit the closed combo box (any of them may become the current one)."""
    opt = QStyleOptionComboBox()
    opt.initFrom(w)
    opt.editable = w.isEditable()
    field = w.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                     QStyle.SubControl.SC_ComboBoxEditField, w)
    available = field.width() - (4 if w.isEditable() else 2)
    for i in range(w.count()):
        text = w.itemText(i)
        need = _advance(w, text) + (w.iconSize().width() + 4 if not w.itemIcon(i).isNull() else 0)
        if need > available + SLACK_PX:
            return Clip(describe(w), text, need, available)
    return None


def _line_edit(w: QLineEdit) -> Clip | None:
    text = w.text() or w.placeholderText()
    if not text or w.echoMode() != QLineEdit.EchoMode.Normal:
        return None
    opt = QStyleOptionFrame()
    opt.initFrom(w)
    opt.lineWidth = w.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, opt, w) if w.hasFrame() else 0
    contents = w.style().subElementRect(QStyle.SubElement.SE_LineEditContents, opt, w)
    margins = w.textMargins()
    available = contents.width() - margins.left() - margins.right() - 4     # QLineEdit's 2 px inner margin
    for action in w.actions():                                            # clear button and the like
        if action.isVisible():
            available -= 22
    need = _advance(w, text)
    return Clip(describe(w), text, need, available) if need > available + SLACK_PX else None


def _tab_bar(w: QTabBar) -> Clip | None:
    for i in range(w.count()):
        if not w.isTabVisible(i):
            continue
        need, have = w.tabSizeHint(i).width(), w.tabRect(i).width()
        if need > have + SLACK_PX:
            return Clip(describe(w), w.tabText(i), need, have)
        if not w.tabRect(i).intersects(w.rect()) or w.tabRect(i).right() > w.width() + SLACK_PX:
            return Clip(describe(w), w.tabText(i), w.tabRect(i).right(), w.width())
    return None


def _group_box(w: QGroupBox) -> Clip | None:
    need = _advance(w, _plain(w.title())) + 20
    return Clip(describe(w), w.title(), need, w.width()) if w.title() and need > w.width() + SLACK_PX else None


def _scroll_area(w: QAbstractScrollArea) -> Clip | None:
    """A form that needs a horizontal scroll bar to be read is clipped."""
    bar = w.horizontalScrollBar()
    if bar.isVisible() and bar.maximum() > 0 and not isinstance(w, QGraphicsView):
        return Clip(describe(w), "(horizontal scroll bar)", w.viewport().width() + bar.maximum(),
                    w.viewport().width())
    return None


def _list_items(w: QListWidget) -> Clip | None:
    """Every item of a list (e.g. the Help topics) fits the list's width."""
    available = w.viewport().width()
    for i in range(w.count()):
        text = w.item(i).text()
        need = _advance(w, text) + 8                 # the item's text margins
        if need > available + SLACK_PX:
            return Clip(describe(w), text, need, available)
    return None


def _graphics_texts(view: QGraphicsView) -> list[Clip]:
    """Plot titles, axis labels and legends (text items) lie inside the visible part of the view."""
    scene = view.scene()
    if scene is None:
        return []
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    clips = []
    for item in scene.items():
        if not isinstance(item, QGraphicsTextItem) or not item.isVisible() or not item.toPlainText().strip():
            continue
        box: QRectF = item.sceneBoundingRect()
        margin = item.document().documentMargin()       # glyph-free border of the text item
        inner = box.adjusted(margin, margin, -margin, -margin)
        shown = visible.intersected(inner)
        if shown.width() + GRAPHICS_SLACK_PX < inner.width() or shown.height() + GRAPHICS_SLACK_PX < inner.height():
            along = max(inner.width(), inner.height())  # rotated axis labels run vertically
            clips.append(Clip(f"{describe(view)}/text", item.toPlainText(), along,
                              along * min(shown.width() / max(inner.width(), 1e-9),
                                          shown.height() / max(inner.height(), 1e-9))))
    return clips


CHECKS = ((QLabel, _label), (QPushButton, _push_button), (QCheckBox, _button), (QRadioButton, _button),
          (QToolButton, _button), (QComboBox, _combo), (QLineEdit, _line_edit), (QTabBar, _tab_bar),
          (QGroupBox, _group_box), (QListWidget, _list_items), (QAbstractScrollArea, _scroll_area))


def clipped_texts(root: QWidget) -> list[Clip]:
    """Every visible widget under ``root`` (root included) whose text does not fit."""
    clips: list[Clip] = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisibleTo(root) and w is not root or w.width() <= 0 or is_exempt(w):
            continue
        for cls, check in CHECKS:
            if isinstance(w, cls):
                clip = check(w)
                if clip is not None:
                    clips.append(clip)
                break
        if isinstance(w, QGraphicsView):
            clips.extend(_graphics_texts(w))
    return clips
