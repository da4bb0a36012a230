"""Editing tools: undo/redo, region tools, replace-all, reset, and the paint code."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QUndoStack
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ..widgets.availability import set_available
from ..widgets.naming import named

NO_REGION = "Select a region first: the Select region tool, or Shift+drag on the grid"


class EditBar(QWidget):
    """Two rows of edit controls bound to an undo stack; requests go to the editor.

    Two rows, not one, so the editor fits a 1024 px wide projector."""

    select_tool_toggled = Signal(bool)
    randomise_requested = Signal()
    resample_requested = Signal()
    replace_requested = Signal(int, int)
    reset_requested = Signal()
    paint_code_changed = Signal(int)

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editorEditBar")
        self.setAccessibleName("Grid editing tools")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        row, row2 = QHBoxLayout(), QHBoxLayout()
        self.second_row = row2          # the editor adds the grid-file buttons here
        rows.addLayout(row)
        rows.addLayout(row2)
        self.undo = named(QPushButton("Undo"), "undoButton", "Undo", "Undo the last edit (Ctrl+Z)")
        self.undo.clicked.connect(undo_stack.undo)
        set_available(self.undo, False, "Nothing to undo yet")
        undo_stack.canUndoChanged.connect(lambda can: set_available(self.undo, can, "Nothing to undo yet"))
        self.redo = named(QPushButton("Redo"), "redoButton", "Redo", "Redo (Ctrl+Shift+Z)")
        self.redo.clicked.connect(undo_stack.redo)
        set_available(self.redo, False, "Nothing to redo")
        undo_stack.canRedoChanged.connect(lambda can: set_available(self.redo, can, "Nothing to redo"))
        self.paint_code = named(QSpinBox(), "paintCode", "Paint code",
                                 "The code that left-drag paints (click a codebook tile or right-click a cell)")
        self.paint_code.valueChanged.connect(self.paint_code_changed)
        self.swatch = named(QLabel(""), "paintSwatch", "Paint code colour")
        self.swatch.setFixedWidth(22)
        self.select_tool = named(QPushButton("Select region"), "selectTool", "Select region tool",
                                  "Drag on the grid to select a rectangle (or Shift+drag any time)")
        self.select_tool.setCheckable(True)
        self.select_tool.toggled.connect(self.select_tool_toggled)
        self.randomise = named(QPushButton("Randomise"), "randomiseRegion", "Randomise region",
                                "Fill the selected region with random codes")
        self.randomise.clicked.connect(self.randomise_requested)
        self.resample = named(QPushButton("Resample (prior)"), "resampleRegion", "Resample region with the prior",
                               "Redraw the selected region from the PixelCNN prior, keeping every other cell")
        self.resample.clicked.connect(self.resample_requested)
        self.animate = named(QCheckBox("animate"), "animateSampling", "Animate sampling",
                              "Show the prior filling the cells one position at a time")
        self.replace_from = named(QSpinBox(), "replaceFrom", "Replace code")
        self.replace_to = named(QSpinBox(), "replaceTo", "Replace with code")
        self.replace = named(QPushButton("Replace all"), "replaceAll", "Replace all",
                              "Replace every cell holding the first code by the second")
        self.replace.clicked.connect(lambda: self.replace_requested.emit(self.replace_from.value(),
                                                                         self.replace_to.value()))
        self.reset = named(QPushButton("Reset"), "resetGrid", "Reset grid", "Back to the encoded grid (undoable)")
        self.reset.clicked.connect(self.reset_requested)
        for w in (self.undo, self.redo, QLabel("Paint:"), self.paint_code, self.swatch, self.select_tool,
                  self.randomise, self.resample, self.animate):
            row.addWidget(w)
        row.addStretch(1)
        for w in (QLabel("Replace"), self.replace_from, QLabel("→"), self.replace_to, self.replace, self.reset):
            row2.addWidget(w)
        row2.addSpacing(16)
        self.set_region_available(False)

    def set_num_codes(self, k: int) -> None:
        for spin in (self.paint_code, self.replace_from, self.replace_to):
            spin.setRange(0, max(0, k - 1))

    def set_paint_code(self, code: int, colour: QColor) -> None:
        self.paint_code.blockSignals(True)
        self.paint_code.setValue(code)
        self.paint_code.blockSignals(False)
        self.replace_to.setValue(code)
        self.swatch.setStyleSheet(f"background: {colour.name()}; border: 1px solid #444;")

    def add_to_second_row(self, *widgets: QWidget) -> None:
        for w in widgets:
            self.second_row.addWidget(w)
        self.second_row.addStretch(1)

    def set_region_available(self, available: bool, has_prior: bool | None = None) -> None:
        if has_prior is not None:
            self.has_prior = has_prior
        set_available(self.randomise, available, NO_REGION)
        if not getattr(self, "has_prior", True):
            set_available(self.resample, False, "This bundle has no prior to resample with")
        else:
            set_available(self.resample, available, NO_REGION)
