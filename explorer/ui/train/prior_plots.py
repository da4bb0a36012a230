"""The prior's curves: teacher-forced NLL (training and held-out) and held-out accuracy."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from .history import TrainingHistory
from .live_plot import LivePlot


class PriorNLLPlot(LivePlot):
    """NLL = −(1/HW) Σ log p(z_ij | z_<ij) in nats per latent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Prior NLL", "priorNllPlot", "nats per latent", parent=parent)
        self.add_curve("loss", "training NLL (batch)", "sky")
        self.add_curve("val_nll", "held-out NLL", "yellow", symbol="o")

    def update_from(self, history: TrainingHistory) -> None:
        self.set_curve("loss", history.prior["step"].values, history.prior["loss"].values)
        self.set_curve("val_nll", history.prior_val["step"].values, history.prior_val["nll"].values)


class PriorAccuracyPlot(LivePlot):
    """How often the most likely code is the true one, on held-out code grids."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Prior accuracy", "priorAccuracyPlot", "held-out accuracy", parent=parent)
        self.add_curve("val_accuracy", "top-1 accuracy", "green", symbol="o")
        self.getPlotItem().setYRange(0, 1, padding=0.02)

    def update_from(self, history: TrainingHistory) -> None:
        self.set_curve("val_accuracy", history.prior_val["step"].values, history.prior_val["accuracy"].values)
