"""Where the grid comes from: dataset images (previous/next/random/by class), a drawing,
a prior sample, or a grid file; and saving the grid."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from ..text_fit import TEXT_FIT_EXEMPT
from ..widgets.availability import set_available
from ..widgets.naming import named
from ..widgets.plain_text import literal, plain

NO_IMAGES = "No images in this set"
NO_PRIOR = "This bundle has no prior to sample from: train one (Train panel, Train: Prior) or open a bundle with one"
NOT_DRAWING = "Only while drawing: press Draw first"


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
        # Always shown (disabled when not drawing): buttons never move under the mouse.
        self.draw.toggled.connect(self.set_drawing)
        self.set_drawing(False)
        self.sample = named(QPushButton("Sample prior"), "samplePrior", "Sample from the prior",
                             "A new grid drawn from the PixelCNN prior, position by position")
        self.sample.clicked.connect(self.sample_requested)
        # A class-conditional prior p(z | c) draws one class: which one, for Sample prior and
        # Resample region (shown only for such priors, as the Sampling panel's class).
        self.prior_class = named(QComboBox(), "priorClass", "Class to draw",
                                 "The class the class-conditional prior draws (Sample prior and Resample region)")
        self.prior_class.setVisible(False)
        self.load = named(QPushButton("Load grid…"), "loadGrid", "Load grid", "Open a .npy or .json code grid")
        self.load.clicked.connect(self.load_requested)
        self.save = named(QPushButton("Save grid…"), "saveGrid", "Save grid", "Save the code grid as .npy or .json")
        self.save.clicked.connect(self.save_requested)
        # The label takes what is left at the end of the row: its text changing never moves a button.
        # A very long one (a file name) is cut at the window's edge; the tooltip has all of it.
        self.label = plain(named(QLabel(""), "sourceLabel", "Current source"))     # a file name, a bundle's label
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.label.setProperty(TEXT_FIT_EXEMPT, True)
        self.label.setMinimumWidth(40)
        for w in (QLabel("Source:"), self.dataset, self.class_filter, self.previous, self.next, self.random,
                  self.draw, self.clear, self.sample, self.prior_class):
            row.addWidget(w)
        row.addSpacing(8)
        row.addWidget(self.label, 1)

    def file_buttons(self) -> tuple[QPushButton, QPushButton]:
        """Load grid… and Save grid…: the editor shows them with the grid tools (second row)."""
        return self.load, self.save

    def set_source_text(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(literal(text))

    def set_drawing(self, drawing: bool) -> None:
        set_available(self.clear, drawing, NOT_DRAWING)

    def set_prior_available(self, available: bool) -> None:
        set_available(self.sample, available, NO_PRIOR)

    def set_prior_classes(self, num_classes: int, names: dict[int, str] | None = None) -> None:
        """Offer classes 0..num_classes-1 to draw (hidden when 0: an unconditional prior); the
        chosen class is kept when it still exists."""
        keep = self.prior_class.currentData()
        self.prior_class.blockSignals(True)
        self.prior_class.clear()
        for c in range(num_classes):
            name = (names or {}).get(c, "")
            self.prior_class.addItem(name if name and name != str(c) else f"class {c}", c)
        self.prior_class.setCurrentIndex(max(0, self.prior_class.findData(keep)))
        self.prior_class.blockSignals(False)
        self.prior_class.setVisible(num_classes > 0)

    def chosen_prior_class(self) -> int | None:
        """The class chosen for a class-conditional prior; None when there is no choice to make."""
        return self.prior_class.currentData() if self.prior_class.count() else None

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
            set_available(w, has, NO_IMAGES)
