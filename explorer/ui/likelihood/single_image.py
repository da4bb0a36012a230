"""One image under the prior: its input, where the prior is surprised, and log p(z) in nats and bits.

heatmap cell (i, j) = -log p(z_ij | z_<ij) (notes, "Likelihood and anomaly detection"), painted
over the VQ-VAE's decoding of the codes; the cells sum to -log p(z). One image is one
teacher-forced pass, a few milliseconds, so it runs on the GUI thread (at most once per
event-loop pass while drawing).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from explorer.core.anomaly import ImageLikelihood, image_likelihood
from explorer.core.anomaly_sets import heatmap_rgb, uniform_nats
from explorer.core.data import DataSplits, ImageSet
from explorer.core.data.formats import DataError, read_image_files

from ..state import AppState
from ..widgets.draw_canvas import DrawCanvas
from ..widgets.image_view import ImageView
from ..widgets.naming import named
from ..widgets.plain_text import literal
from .image_source import ImageSourceBar


class SingleImageView(QWidget):
    """Source bar, input (image or canvas), heatmap and the score line."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("likelihoodSingleImage")
        self.setAccessibleName("One image")
        self.source_bar = ImageSourceBar()
        self.input_view = ImageView("likelihoodImage", "input", "Input image")
        self.canvas = DrawCanvas()
        named(self.canvas, "likelihoodCanvas", "Drawing canvas")
        self.input_stack = QStackedWidget()
        self.input_stack.addWidget(self.input_view)
        self.input_stack.addWidget(self.canvas)
        self.heatmap = ImageView("likelihoodHeatmap", "surprise per code",
                                 "Surprise heatmap")
        self.heatmap.setToolTip("Each code cell tinted by how surprised the prior is there: black = certain, "
                                "red, yellow, white = as surprised as a uniform guess over the K codes (log K)")
        self.score = named(QLabel(""), "likelihoodScore", "Likelihood of the image")
        self.score.setWordWrap(True)
        self.score.setTextFormat(Qt.RichText)
        self.scale = named(QLabel(""), "likelihoodHeatmapScale", "Heatmap colour scale")
        self.scale.setWordWrap(True)
        views = QHBoxLayout()
        views.addWidget(self.input_stack, 1)
        views.addWidget(self.heatmap, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_bar)
        layout.addLayout(views, 1)
        layout.addWidget(self.scale)
        layout.addWidget(self.score)
        self.setMinimumWidth(360)
        self.background = None                      # a prior over the same codes, for the ratio
        self.shifts = 0                             # average the scores over +-shifts pixel moves
        self.combined = None                        # CombinedScore fitted by the sets view (same shifts)
        self.result: ImageLikelihood | None = None
        self._splits: DataSplits | None = None
        self._file_image: np.ndarray | None = None
        self._file_name = ""
        self._index = 0
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(0)
        self._redraw.timeout.connect(self.refresh)
        self.source_bar.source_changed.connect(self._source_changed)
        self.source_bar.step_requested.connect(self._step)
        self.source_bar.open_requested.connect(self.ask_open)
        self.source_bar.clear_requested.connect(self.canvas.clear)
        self.canvas.drawn.connect(self._redraw.start)

    # -- inputs -----------------------------------------------------------------------------
    def reset(self) -> None:
        """A new bundle: back to its first example."""
        bundle = self.state.bundle
        self._splits = None
        self.source_bar.set_validation_available(False)
        self._index = 0
        if bundle is not None:
            self.canvas.resize_canvas(bundle.vqvae.config.image_size)
        self.refresh()

    def set_splits(self, splits: DataSplits | None) -> None:
        self._splits = splits
        self.source_bar.set_validation_available(splits is not None and len(splits.val) > 0)

    def set_shifts(self, shifts: int) -> None:
        self.shifts = shifts
        self.refresh()

    def set_combined(self, fit) -> None:
        """The combined score's density fitted on the normal set (None: not fitted yet)."""
        self.combined = fit
        self.refresh()

    def set_background(self, prior) -> None:
        self.background = prior
        self.refresh()

    def _images(self) -> ImageSet | None:
        source = self.source_bar.current()
        if source == "validation" and self._splits is not None:
            return self._splits.val
        bundle = self.state.bundle
        return bundle.examples if bundle is not None else None

    def _source_changed(self, source: str) -> None:
        self.source_bar.show_controls_for(source)
        self.input_stack.setCurrentWidget(self.canvas if source == "draw" else self.input_view)
        self._index = 0
        if source == "file" and self._file_image is None:
            self.ask_open()
        self.refresh()

    def _step(self, delta: int) -> None:
        images = self._images()
        if images is not None and len(images):
            self._index = (self._index + delta) % len(images)
            self.refresh()

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Score an image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp)")
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> None:
        """Read an image file (resized and converted to the model's input) and score it."""
        bundle = self.state.bundle
        if bundle is None:
            return
        cfg = bundle.vqvae.config
        try:
            images = read_image_files([path], image_size=cfg.image_size, grayscale=cfg.in_channels == 1)
        except DataError as exc:
            self.score.setText(literal(exc))
            return
        if images.shape[1] != cfg.in_channels:
            self.score.setText(literal(f"{path.name} has {images.shape[1]} channels; "
                                       f"the model expects {cfg.in_channels}."))
            return
        self._file_image, self._file_name = images[0].astype(np.float32) / 255.0, path.name
        if self.source_bar.current() != "file":
            self.source_bar.source.setCurrentIndex(self.source_bar.source.findData("file"))
        self.refresh()

    def current_image(self) -> tuple[np.ndarray | None, str]:
        """(float32 (C, H, W) in [0, 1], its name) of the selected source, or (None, why not)."""
        bundle = self.state.bundle
        if bundle is None:
            return None, "No model loaded."
        source = self.source_bar.current()
        if source == "draw":
            return self.canvas.image(bundle.vqvae.config.in_channels), "your drawing"
        if source == "file":
            return (self._file_image, self._file_name) if self._file_image is not None else \
                (None, "Open an image file to score it.")
        images = self._images()
        if images is None or not len(images):
            return None, "This bundle has no example images: draw one or open a file."
        i = self._index % len(images)
        label = int(images.labels[i])
        where = "example" if source == "examples" else "validation image"
        return images.float_images(slice(i, i + 1))[0].numpy(), \
            f"{where} {i + 1}/{len(images)}" + (f" · {label}" if label >= 0 else "")

    def current_label(self) -> int:
        """The label of the held-out image on show (-1: a drawing, a file, or unlabelled)."""
        if self.source_bar.current() not in ("examples", "validation"):
            return -1
        images = self._images()
        if images is None or not len(images):
            return -1
        return int(images.labels[self._index % len(images)])

    # -- scoring ----------------------------------------------------------------------------
    def refresh(self) -> None:
        bundle = self.state.bundle
        image, name = self.current_image()
        self.source_bar.label.setText(name if image is not None else "")
        if image is not None and self.source_bar.current() != "draw":
            self.input_view.set_image(image)
            self.input_view.set_caption(name)
        if image is None or bundle is None or bundle.prior is None:
            self.result = None
            why = name if image is None else "This bundle has no prior: train one to score images."
            self.heatmap.set_image(None, why)
            self.score.setText(why)
            return
        self.result = image_likelihood(bundle.vqvae, bundle.prior, image, self.background, shifts=self.shifts,
                                       label=self.current_label())
        k = bundle.vqvae.config.num_codes
        self.heatmap.set_image(heatmap_rgb(self.result.decoded, self.result.position_nll, vmax=uniform_nats(k)))
        text = self.score_text(self.result, k)
        if self.combined is not None and all(p in self.result.scores for p in self.combined.parts):
            value = self.combined.score({p: np.array([self.result.scores[p]]) for p in self.combined.parts})[0]
            text = text[:-1] + f", combined {value:.2f} (fitted on the normal set)."
        self.score.setText(text)
        self.scale.setText(f"Heatmap: −log p(z<sub>ij</sub> | z<sub>&lt;ij</sub>) of each code over the decoded "
                           f"image; black 0 → red → yellow → white ≥ log K = {uniform_nats(k):.2f} nats "
                           f"(a uniform guess). "
                           f"Most surprising code: {self.result.position_nll.max():.2f} nats.")

    @staticmethod
    def score_text(r: ImageLikelihood, num_codes: int) -> str:
        cells = r.codes.size
        uniform = f"a uniform guess costs {cells * np.log2(num_codes):.0f} bits"
        if r.class_nll is None:
            text = (f"<b>log p(z) = −{r.nll:.2f} nats = −{r.bits:.1f} bits</b> ({r.bits / cells:.2f} bits per code; "
                    f"{uniform}).")
            if r.head_posterior is not None:                                    # a prior with class heads
                best = int(r.head_posterior.argmax())
                text = text[:-1] + f"; its class heads read class {best} (p(c\u00a0|\u00a0z)\u00a0=\u00a0{r.head_posterior[best]:.2f})."
        else:
            text = SingleImageView.conditional_text(r, uniform)
        text += f"<br>Scores (higher = more anomalous): NLL {r.scores['nll']:.2f} nats"
        if "ratio" in r.scores:
            text += f", ratio {r.scores['ratio']:+.2f} nats"
        return text + f", complexity {r.scores['complexity']:+.1f} bits."

    @staticmethod
    def conditional_text(r: ImageLikelihood, uniform: str) -> str:
        """A class-conditional prior: −log p(z | label) when the image has one, and the class-marginalised NLL."""
        from explorer.core.class_likelihood import class_posterior, log_class_prior
        classes = len(r.class_nll)
        posterior = class_posterior(r.class_nll[None], log_class_prior(classes))[0]
        marginal = r.scores["nll"]
        best = int(posterior.argmax())
        guess = f"most probable class {best} (p(c | z) = {posterior[best]:.2f})"
        if r.label >= 0:
            return (f"<b>log p(z | c={r.label}) = −{r.class_nll[r.label]:.2f} nats = "
                    f"−{r.class_nll[r.label] / np.log(2):.1f} bits</b>, given its label {r.label} ({uniform}); "
                    f"class-marginalised log p(z) = −{marginal:.2f} nats (uniform p(c)); {guess}. "
                    f"Heatmap given c={r.label}.")
        return (f"No label for this image: <b>class-marginalised log p(z) = −{marginal:.2f} nats = "
                f"−{marginal / np.log(2):.1f} bits</b> = −log Σ<sub>c</sub> p(z | c) p(c), uniform p(c) ({uniform}); "
                f"{guess}. Heatmap given c={r.map_label}.")
