"""The VQ-VAE's loss terms against the step, on a log axis."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from .history import TrainingHistory
from .live_plot import LivePlot


class LossPlot(LivePlot):
    """Reconstruction, codebook and commitment loss (and KL for Gumbel), with held-out MSE points.

    With EMA codebook updates the codebook term is not a loss (it is always 0) and is hidden.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Losses", "lossPlot", "loss (log scale)", log_y=True, parent=parent)
        # Short names; the terms' equations are in the panel's help (F1) and the tooltip.
        self.add_curve("recon_loss", "reconstruction", "sky")
        self.add_curve("codebook_loss", "codebook", "orange")
        self.add_curve("commitment_loss", "commitment (× β)", "green")
        self.add_curve("kl_loss", "KL to uniform", "purple")
        self.add_curve("val_mse", "held-out MSE", "yellow", symbol="o")
        self.setToolTip("reconstruction ‖x − D(z_q)‖², codebook ‖sg[z_e] − z_q‖², commitment "
                        "β ‖z_e − sg[z_q]‖² (zero and hidden with EMA codebook updates), held-out MSE dots")
        self.update_from(TrainingHistory())

    def update_from(self, history: TrainingHistory) -> None:
        h = history.vqvae
        step = h["step"].values
        for name in ("recon_loss", "codebook_loss", "commitment_loss", "kl_loss"):
            values = h[name].values
            self.set_curve_visible(name, bool(len(values)) and bool((values > 0).any()))
            self.set_curve(name, step, values, positive_only=True)
        val = history.vqvae_val
        self.set_curve_visible("val_mse", len(val["step"]) > 0)
        self.set_curve("val_mse", val["step"].values, val["mse"].values, positive_only=True)
