"""Panels still to come: each says what it will show, with the equation from the notes."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..state import AppState


class PlaceholderPanel(QWidget):
    """A panel that is not written yet: its title, what it will show, and the maths behind it."""

    title = ""
    help_text = ""
    object_name = ""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName(self.object_name)
        self.setAccessibleName(self.title)
        self.label = QLabel(f"<h2>{self.title}</h2><p><i>Coming in a later version.</i></p>{self.help_text}", self)
        self.label.setObjectName(f"{self.object_name}Text")
        self.label.setAccessibleName(f"{self.title}: what this panel will show")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setMaximumWidth(900)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(self.label)
        layout.addStretch(1)


class SamplingPanel(PlaceholderPanel):
    title = "Sampling"
    object_name = "samplingPanel"
    help_text = (
        "<p>Generate new images with the prior: the PixelCNN samples a grid of codes one position at a "
        "time in raster order, each from its predicted distribution, and the VQ-VAE's decoder turns the "
        "grid into an image. Step through the raster one code at a time, change the temperature, fix "
        "some codes and sample the rest.</p>"
        "<p style='font-size:120%'>p(z) = ∏<sub>i,j</sub> p(z<sub>ij</sub> | z<sub>&lt;ij</sub>), "
        "&nbsp; z<sub>ij</sub> ~ Cat(π<sub>θ</sub>(z<sub>&lt;ij</sub>))</p>"
        "<p>(notes, <i>PixelCNN: sampling</i>: training is one parallel pass with teacher forcing, "
        "sampling needs one pass per position.)</p>")


class GumbelPanel(PlaceholderPanel):
    title = "Gumbel-Softmax"
    object_name = "gumbelPanel"
    help_text = (
        "<p>Turn the temperature λ down and watch a soft sample become one-hot: the Gumbel-Softmax "
        "relaxation makes sampling from a categorical distribution differentiable.</p>"
        "<p style='font-size:120%'>y<sub>k</sub> = exp((log π<sub>k</sub> + g<sub>k</sub>)/λ) / "
        "Σ<sub>j</sub> exp((log π<sub>j</sub> + g<sub>j</sub>)/λ), &nbsp; "
        "g<sub>k</sub> = −log(−log U), U ~ Uniform(0, 1)</p>"
        "<p>(notes, <i>Gumbel-Softmax</i>: λ → 0 gives one-hot samples, λ → ∞ the uniform vector.)</p>")


class LikelihoodPanel(PlaceholderPanel):
    title = "Likelihood & compression"
    object_name = "likelihoodPanel"
    help_text = (
        "<p>Score images by the prior's exact log-likelihood of their code grids: where each image is "
        "surprising, how many bits the codes take, and which images look out of distribution "
        "(e.g. a digit 5 for a model trained on digits 1–4).</p>"
        "<p style='font-size:120%'>log p(z) = Σ<sub>i,j</sub> log p(z<sub>ij</sub> | z<sub>&lt;ij</sub>), "
        "&nbsp; bits = −log<sub>2</sub> p(z)</p>"
        "<p>(notes, <i>Likelihood and anomaly detection</i>: a low likelihood flags an anomaly.)</p>")
