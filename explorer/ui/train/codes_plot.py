"""Perplexity and the number of codes used in each batch, against the step."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from .history import TrainingHistory
from .live_plot import LivePlot


class CodesPlot(LivePlot):
    """exp(entropy of the code histogram) and the count of distinct codes in each batch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Codebook use", "codesPlot", "codes", parent=parent)
        self.add_curve("perplexity", "perplexity", "red")
        self.add_curve("codes_used", "codes used (batch)", "blue")
        self.setToolTip("perplexity exp(H) of the batch's code histogram: the effective number of codes; "
                        "codes used: how many distinct codes the batch chose")

    def update_from(self, history: TrainingHistory) -> None:
        h = history.vqvae
        for name in ("perplexity", "codes_used"):
            self.set_curve(name, h["step"].values, h[name].values)
