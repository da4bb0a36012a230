"""Which earlier cells the prediction at the current position may depend on.

Left: the cells the first layer reads (its type-A mask: the current cell excluded). Right:
the whole stack's receptive field, measured from the model by gradients of the current
logits with respect to the input embeddings (``explorer.core.receptive_field``). Earlier
cells outside it are the blind spot (red): the plain PixelCNN of the notes cannot see up and
to the right; the gated one can. A toggle switches between the two kinds.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QSizePolicy, QVBoxLayout, QWidget

from explorer.core.receptive_field import causal_region
from explorer.ui.sampling.steady_label import SteadyLabel
from explorer.ui.widgets.naming import named

LATER, SEEN, BLIND, CURRENT = 0, 1, 2, 3
COLOURS = {LATER: QColor(232, 232, 232), SEEN: QColor(40, 110, 220), BLIND: QColor(225, 60, 50),
           CURRENT: QColor(255, 185, 0)}
UNSEEN_EARLIER = QColor(190, 205, 225)      # earlier, not read by the first layer (still fine)
# Presentation mode's dark palette draws the chosen radio as a faint grey dot: draw both plainly.
PRESENTATION_RADIOS = ("QRadioButton::indicator { width: 18px; height: 18px; border-radius: 11px;"
                       " border: 2px solid #ffffff; background: #000000; }\n"
                       "QRadioButton::indicator:checked { background: #ffd000; border-color: #ffd000; }")


def field_categories(field: np.ndarray, i: int, j: int, blind_is_error: bool) -> np.ndarray:
    """(H, W) ints: LATER, SEEN (in the field), BLIND (earlier, not in the field), CURRENT."""
    earlier = causal_region(*field.shape, i, j)
    out = np.full(field.shape, LATER, dtype=np.int64)
    out[earlier & ~field] = BLIND if blind_is_error else -1
    out[field] = SEEN
    out[i, j] = CURRENT
    return out


class FieldGrid(QWidget):
    """An H x W grid of coloured cells with a caption above."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.cells = np.full((7, 7), LATER, dtype=np.int64)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(90, 100)

    def sizeHint(self) -> QSize:
        return QSize(180, 200)

    def set_cells(self, cells: np.ndarray) -> None:
        if cells.shape == self.cells.shape and np.array_equal(cells, self.cells):
            return                                  # unchanged: no repaint
        self.cells = cells
        self.update()

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        fm = self.fontMetrics()
        cap_h = fm.height() + 4
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, self.width(), cap_h), Qt.AlignHCenter | Qt.AlignVCenter, self.caption)
        h, w = self.cells.shape
        s = max(3.0, min(self.width() / w, (self.height() - cap_h) / h))
        x0, y0 = (self.width() - w * s) / 2, cap_h
        hatch = QBrush(QColor(255, 255, 255, 150), Qt.BDiagPattern)
        p.fillRect(QRectF(x0, y0, w * s, h * s), QColor(110, 110, 110))   # grid lines: 1-px gaps
        for a in range(h):
            for b in range(w):
                c = int(self.cells[a, b])
                rect = QRectF(x0 + b * s + 1, y0 + a * s + 1, s - 1, s - 1)
                p.fillRect(rect, COLOURS.get(c, UNSEEN_EARLIER))
                if c == BLIND:
                    p.fillRect(rect, hatch)
        p.end()


class ReceptiveFieldView(QWidget):
    """First-layer mask and measured field of the current position, plain vs gated vs transformer."""

    kind_changed = Signal(str)          # "plain", "gated" or "transformer"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingReceptiveField", "Receptive field of the current position",
              "Measured from the model: gradients of the current logits with respect to the input embeddings")
        self.first = FieldGrid("first layer (type A)")
        self.whole = FieldGrid("whole stack (measured)")
        self.plain = named(QRadioButton("plain PixelCNN"), "samplingFieldPlain", "Show the plain PixelCNN")
        self.gated = named(QRadioButton("gated"), "samplingFieldGated", "Show the gated PixelCNN")
        self.transformer = named(QRadioButton("transformer"), "samplingFieldTransformer",
                                 "Show the causal transformer")
        self.group = QButtonGroup(self)
        for button in (self.plain, self.gated, self.transformer):
            self.group.addButton(button)
        self.gated.setChecked(True)
        self.note = named(SteadyLabel(lines=3), "samplingFieldNote", "Which prior the receptive field is measured on")
        legend = QLabel("<span style='color:#ffb900'>■</span> current &nbsp;"
                        "<span style='color:#286edc'>■</span> can see &nbsp;"
                        "<span style='color:#becde1'>■</span> not in layer 1 &nbsp;"
                        "<span style='color:#e13c32'>■</span> blind spot")
        legend.setTextFormat(Qt.RichText)
        legend.setWordWrap(True)
        toggle = QHBoxLayout()
        toggle.setContentsMargins(8, 4, 0, 0)           # clear of the tab frame's border
        toggle.addWidget(self.plain)
        toggle.addWidget(self.gated)
        toggle.addWidget(self.transformer)
        toggle.addStretch(1)
        grids = QHBoxLayout()
        grids.addWidget(self.first)
        grids.addWidget(self.whole)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toggle)
        layout.addLayout(grids, 1)
        layout.addWidget(legend)
        layout.addWidget(self.note)
        self.group.buttonToggled.connect(lambda _button, on: on and self.kind_changed.emit(self.kind))
        self.fields: dict[str, np.ndarray] = {}        # kind -> (H, W, H, W) measured fields
        self.first_fields: dict[str, np.ndarray] = {}  # kind -> (H, W, H, W) first-layer masks
        self.position = (0, 0)

    def set_presentation(self, on: bool) -> None:
        """Radio indicators the back of the room can read: the chosen one filled in yellow."""
        self.setStyleSheet(PRESENTATION_RADIOS if on else "")

    @property
    def kind(self) -> str:
        return "plain" if self.plain.isChecked() else "transformer" if self.transformer.isChecked() else "gated"

    def set_kind(self, kind: str) -> None:
        """Show ``kind`` ("plain", "gated" or "transformer")."""
        {"plain": self.plain, "transformer": self.transformer}.get(kind, self.gated).setChecked(True)

    def set_fields(self, fields: dict[str, np.ndarray], first_fields: dict[str, np.ndarray],
                   notes: dict[str, str]) -> None:
        self.fields, self.first_fields, self._notes = fields, first_fields, notes
        self.show_position(*self.position)

    def clear(self, message: str) -> None:
        self.fields, self.first_fields, self._notes = {}, {}, {}
        self.note.setText(message)
        self.first.set_cells(np.full(self.first.cells.shape, LATER))
        self.whole.set_cells(np.full(self.whole.cells.shape, LATER))

    def measured(self, kind: str | None = None) -> np.ndarray | None:
        """(H, W) bool: the field shown for the current position (None until measured)."""
        fields = self.fields.get(kind or self.kind)
        return None if fields is None else fields[self.position]

    def show_position(self, i: int, j: int) -> None:
        self.position = (i, j)
        kind = self.kind
        if kind not in self.fields:
            return
        self.first.set_cells(field_categories(self.first_fields[kind][i, j], i, j, blind_is_error=False))
        cells = field_categories(self.fields[kind][i, j], i, j, blind_is_error=True)
        self.whole.set_cells(cells)
        blind = int((cells == BLIND).sum())
        self.note.setText(f"{self._notes.get(kind, kind)} · at ({i}, {j}): sees {int(self.fields[kind][i, j].sum())}"
                          f" of {i * self.fields[kind].shape[1] + j} earlier cells"
                          + (f", <b>blind to {blind}</b>" if blind else ", no blind spot"))
