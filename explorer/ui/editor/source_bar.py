"""Where the grid comes from: dataset images (previous/next/random/by class), a drawing,
a prior sample, or a grid file; and saving the grid."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from ..widgets.naming import named


class SourceBar(QWidget):
    """A row of source controls; it only emits requests, the editor acts on them."""

    dataset_changed = Signal(str)      # "examples" or "validation"
    class_changed = Signal(int)        # -1 = any class
    step_requested = Signal(int)       # -1 previous, +1 next
    random_requested = Signal()
    draw_toggled = Signal(bool)
    clear_requested = Signal()
    sample_requested = Signal()
    load_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editorSourceBar")
        self.setAccessibleName("Grid source")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.dataset = named(QComboBox(), "sourceDataset", "Image set",
                              "Which images to encode: the bundle's held-out examples or the validation set")
        self.dataset.addItem("Bundle examples", "examples")
        self.dataset.currentIndexChanged.connect(lambda _: self.dataset_changed.emit(self.dataset.currentData()))
        self.class_filter = named(QComboBox(), "sourceClass", "Class filter", "Only show images of this class")
        self.class_filter.addItem("any class", -1)
        self.class_filter.currentIndexChanged.connect(lambda _: self.class_changed.emit(self.class_filter.currentData()))
        self.previous = named(QToolButton(), "previousImage", "Previous image", "Previous image (Page Up)")
        self.previous.setText("◀")
        self.previous.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next = named(QToolButton(), "nextImage", "Next image", "Next image (Page Down)")
        self.next.setText("▶")
        self.next.clicked.connect(lambda: self.step_requested.emit(1))
        self.random = named(QPushButton("Random"), "randomImage", "Random image", "A random image of the set")
        self.random.clicked.connect(self.random_requested)
        self.draw = named(QPushButton("Draw"), "drawMode", "Draw a digit",
                           "Draw your own digit; it is encoded as you draw")
        self.draw.setCheckable(True)
        self.draw.toggled.connect(self.draw_toggled)
        self.clear = named(QPushButton("Clear"), "clearDrawing", "Clear drawing", "Erase the drawing")
        self.clear.clicked.connect(self.clear_requested)
        self.clear.setVisible(False)
        self.draw.toggled.connect(self.clear.setVisible)
        self.sample = named(QPushButton("Sample prior"), "samplePrior", "Sample from the prior",
                             "A new grid drawn from the PixelCNN prior, position by position")
        self.sample.clicked.connect(self.sample_requested)
        self.load = named(QPushButton("Load grid…"), "loadGrid", "Load grid", "Open a .npy or .json code grid")
        self.load.clicked.connect(self.load_requested)
        self.save = named(QPushButton("Save grid…"), "saveGrid", "Save grid", "Save the code grid as .npy or .json")
        self.save.clicked.connect(self.save_requested)
        self.label = named(QLabel(""), "sourceLabel", "Current source")
        self.label.setMinimumWidth(40)           # a long label never widens the window
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        for w in (QLabel("Source:"), self.dataset, self.class_filter, self.previous, self.next, self.random,
                  self.draw, self.clear, self.sample, self.load, self.save, self.label):
            row.addWidget(w)
        row.addStretch(1)

    def set_validation_available(self, available: bool) -> None:
        has = self.dataset.findData("validation") >= 0
        if available and not has:
            self.dataset.addItem("Validation set", "validation")
        elif not available and has:
            self.dataset.removeItem(self.dataset.findData("validation"))

    def set_classes(self, classes: list[int], names: dict[int, str] | None = None) -> None:
        keep = self.class_filter.currentData()
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem("any class", -1)
        for c in classes:
            self.class_filter.addItem((names or {}).get(c, f"class {c}"), c)
        idx = self.class_filter.findData(keep)
        self.class_filter.setCurrentIndex(max(0, idx))
        self.class_filter.blockSignals(False)

    def set_has_images(self, has: bool) -> None:
        for w in (self.previous, self.next, self.random, self.class_filter):
            w.setEnabled(has)
