"""The main window's panels, in navigation order (Ctrl+1 … Ctrl+7)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from .codebook.panel import CodebookPanel
from .editor.panel import LatentEditor
from .gumbel.panel import GumbelPanel
from .likelihood.panel import LikelihoodPanel
from .quantizer_lab.panel import QuantizerLabPanel
from .sampling.panel import SamplingPanel
from .train.panel import TrainPanel


@dataclass(frozen=True)
class PanelSpec:
    object_name: str               # the panel's objectName, used by show_panel() and tests
    title: str                     # the tab's text (plain text: an "&" is shown as is)
    cls: type[QWidget]             # built as cls(state, parent)


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("trainPanel", "Train", TrainPanel),
    PanelSpec("codebookPanel", "Codebook", CodebookPanel),
    PanelSpec("latentEditor", "Latent editor", LatentEditor),
    PanelSpec("samplingPanel", "Sampling", SamplingPanel),
    PanelSpec("gumbelPanel", "Gumbel-Softmax", GumbelPanel),
    PanelSpec("likelihoodPanel", "Likelihood & compression", LikelihoodPanel),
    PanelSpec("quantizerLab", "Quantizer lab", QuantizerLabPanel),
)


def panel_names() -> list[str]:
    return [spec.object_name for spec in PANELS]
