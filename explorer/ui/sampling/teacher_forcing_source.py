"""Which real image the Sampling panel's teacher-forcing tab scores, and the scoring itself.

The images are the bundle's examples or its validation split (read once, off the GUI thread,
by a :class:`~explorer.ui.widgets.split_loader.SplitLoader`). Scoring one image is one
teacher-forced pass of the prior (core ``sampling_session.teacher_forcing``), shown in the
:class:`~explorer.ui.sampling.teacher_forcing_view.TeacherForcingView`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from explorer.core.latent_edit import encode_source
from explorer.core.sampling_session import teacher_forcing
from explorer.ui.sampling.teacher_forcing_view import TeacherForcingView
from explorer.ui.state import AppState
from explorer.ui.widgets.split_loader import SplitLoader


class TeacherForcingSource(QObject):
    """Binds the teacher-forcing view to the bundle's images: the chosen one is scored at once."""

    def __init__(self, view: TeacherForcingView, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.state = state
        self.palette_rgb = np.zeros((0, 3), dtype=np.uint8)
        self.splits = SplitLoader(self)          # the validation set
        self.validation = None                   # ImageSet once loaded
        view.example_changed.connect(self.score)
        view.source_changed.connect(self._source_changed)
        self.splits.loaded.connect(self._splits_loaded)
        self.splits.failed.connect(lambda _msg: view.set_validation_available(False))

    @property
    def busy(self) -> bool:
        return self.splits.busy

    def reset(self, palette_rgb: np.ndarray) -> None:
        """A new bundle: its examples, scored with its prior (the validation split comes later)."""
        self.palette_rgb = palette_rgb
        self.validation = None
        self.view.set_validation_available(False)
        self._source_changed()

    def load_validation(self) -> None:
        """Read the bundle's validation split in a worker (when the panel is first shown)."""
        if self.state.bundle is not None and self.state.bundle.data:
            self.splits.request(self.state.bundle.data)

    def images(self):
        """The image set being scored: the bundle's examples or the validation split."""
        if self.view.source.currentData() == "validation" and self.validation is not None:
            return self.validation
        return self.state.bundle.examples if self.state.bundle is not None else None

    def score(self, index: int) -> None:
        """One teacher-forced pass over image ``index`` of :meth:`images` (given its label when the
        prior is class-conditional)."""
        bundle = self.state.bundle
        if bundle is None or bundle.prior is None:
            return
        examples = self.images()
        if examples is None or not len(examples):
            self.view.clear("No images to score: the bundle has no examples.")
            return
        index = min(int(index), len(examples) - 1)
        src = encode_source(bundle.vqvae, examples.images[index].numpy(), f"image {index}", "image")
        label = None
        if bundle.prior.config.num_classes:
            known = int(examples.labels[index])
            label = known if 0 <= known < bundle.prior.config.num_classes else 0
        result = teacher_forcing(bundle.prior, src.codes, label)
        self.view.set_result(src.image, src.codes, result, self.palette_rgb, label)

    def _splits_loaded(self, splits) -> None:
        self.validation = splits.val if len(splits.val) else None
        self.view.set_validation_available(self.validation is not None)

    def _source_changed(self, _source: str = "") -> None:
        images = self.images()
        self.view.set_examples(len(images) if images is not None else 0)
        self.score(self.view.example.value())
