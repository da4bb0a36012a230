"""Where the single image comes from: the bundle's examples, the validation set, a drawing, a file."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from ..widgets.naming import named
from ..widgets.plain_text import plain


class ImageSourceBar(QWidget):
    """A row of source controls; it only emits requests, the view acts on them."""

    source_changed = Signal(str)       # "examples", "validation", "draw" or "file"
    step_requested = Signal(int)       # -1 previous, +1 next
    open_requested = Signal()
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("likelihoodSourceBar")
        self.setAccessibleName("Image source")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.source = named(QComboBox(), "likelihoodSource", "Image source",
                            "Score a held-out image, your own drawing, or an image file")
        for text, key in (("Bundle examples", "examples"), ("Draw", "draw"), ("Image file", "file")):
            self.source.addItem(text, key)
        self.source.currentIndexChanged.connect(lambda _: self.source_changed.emit(self.source.currentData()))
        self.previous = named(QToolButton(), "likelihoodPrevious", "Previous image", "Previous image")
        self.previous.setText("◀")
        self.previous.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next = named(QToolButton(), "likelihoodNext", "Next image", "Next image")
        self.next.setText("▶")
        self.next.clicked.connect(lambda: self.step_requested.emit(1))
        self.open = named(QPushButton("Open image…"), "likelihoodOpenImage", "Open an image file",
                          "Score a PNG/JPEG file (resized to the model's input size)")
        self.open.clicked.connect(self.open_requested)
        self.clear = named(QPushButton("Clear"), "likelihoodClearDrawing", "Clear drawing", "Erase the drawing")
        self.clear.clicked.connect(self.clear_requested)
        self.label = plain(named(QLabel(""), "likelihoodSourceLabel", "Current image"))     # a file name
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        for w in (self.source, self.previous, self.next, self.open, self.clear, self.label):
            row.addWidget(w)
        row.addStretch(1)
        self.show_controls_for("examples")

    def current(self) -> str:
        return self.source.currentData()

    def set_validation_available(self, available: bool) -> None:
        has = self.source.findData("validation") >= 0
        if available and not has:
            self.source.insertItem(1, "Validation set", "validation")
        elif not available and has:
            self.source.removeItem(self.source.findData("validation"))

    def show_controls_for(self, source: str) -> None:
        browsing = source in ("examples", "validation")
        self.previous.setVisible(browsing)
        self.next.setVisible(browsing)
        self.open.setVisible(source == "file")
        self.clear.setVisible(source == "draw")
