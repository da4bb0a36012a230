"""The training panel's right-hand side: the VQ-VAE's four live plots, or the prior's two."""
from __future__ import annotations

import numpy as np
import torch
from PySide6.QtWidgets import QGridLayout, QStackedWidget, QWidget

from explorer.core.bundle import Bundle

from .codes_plot import CodesPlot
from .history import TrainingHistory
from .loss_plot import LossPlot
from .preview_image import PreviewImage
from .prior_plots import PriorAccuracyPlot, PriorNLLPlot
from .usage_histogram import UsageHistogram

IDLE_EXAMPLES = 256                 # examples encoded to show an idle model's code usage


class TrainPlots(QStackedWidget):
    """Page 0: losses, codebook use, usage histogram, reconstructions. Page 1: the prior's NLL."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPlots")
        self.setAccessibleName("Training plots")
        self.loss_plot = LossPlot()
        self.codes_plot = CodesPlot()
        self.usage_histogram = UsageHistogram()
        self.preview = PreviewImage()
        self.prior_nll_plot = PriorNLLPlot()
        self.prior_accuracy_plot = PriorAccuracyPlot()
        vq_page, prior_page = QWidget(), QWidget()
        vq_page.setObjectName("vqvaePlotsPage")
        vq_page.setAccessibleName("VQ-VAE training plots")
        prior_page.setObjectName("priorPlotsPage")
        prior_page.setAccessibleName("Prior training plots")
        grid = QGridLayout(vq_page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.codes_plot, 0, 1)
        grid.addWidget(self.usage_histogram, 1, 0)
        grid.addWidget(self.preview, 1, 1)
        prior_grid = QGridLayout(prior_page)
        prior_grid.setContentsMargins(0, 0, 0, 0)
        prior_grid.addWidget(self.prior_nll_plot, 0, 0)
        prior_grid.addWidget(self.prior_accuracy_plot, 1, 0)
        prior_grid.setRowStretch(0, 3)
        prior_grid.setRowStretch(1, 2)
        self.addWidget(vq_page)
        self.addWidget(prior_page)

    def vqvae_views(self):
        return (self.loss_plot, self.codes_plot, self.usage_histogram, self.preview)

    def prior_views(self):
        return (self.prior_nll_plot, self.prior_accuracy_plot)

    def set_step_range(self, mode: str, total_steps: int) -> None:
        """Every curve plot of the page spans the run's steps."""
        plots = (self.loss_plot, self.codes_plot) if mode == "vqvae" else self.prior_views()
        for plot in plots:
            plot.set_step_range(total_steps)

    def view_count(self, mode: str) -> int:
        return len(self.vqvae_views() if mode == "vqvae" else self.prior_views())

    def show_mode(self, mode: str) -> None:
        self.setCurrentIndex(0 if mode == "vqvae" else 1)

    def clear(self, mode: str) -> None:
        if mode == "vqvae":
            for view in (self.loss_plot, self.codes_plot):
                view.clear_curves()
            self.usage_histogram.set_usage(None)
            self.usage_histogram.set_title(UsageHistogram.TRAINING_TITLE)
            self.preview.clear_image()
        else:
            for view in self.prior_views():
                view.clear_curves()

    def update_from(self, history: TrainingHistory, mode: str) -> None:
        """Redraw every plot of the mode's page."""
        for view in (self.vqvae_views() if mode == "vqvae" else self.prior_views()):
            view.update_from(history)

    def update_next(self, history: TrainingHistory, mode: str) -> None:
        """Redraw one plot of the page, the next in turn (its own paint), on each timer tick.

        Repainting all four pyqtgraph views in one event-loop iteration costs tens of
        milliseconds; one per tick keeps every iteration short, each plot refreshing at
        (tick rate / number of plots).
        """
        views = self.vqvae_views() if mode == "vqvae" else self.prior_views()
        self._turn = (getattr(self, "_turn", -1) + 1) % len(views)
        views[self._turn].update_from(history)

    def show_model(self, bundle: Bundle | None) -> None:
        """Idle: what the loaded VQ-VAE does to the bundle's example images (a few ms)."""
        if bundle is None or bundle.examples is None or len(bundle.examples) == 0:
            return
        x = bundle.examples.float_images(slice(0, IDLE_EXAMPLES))
        with torch.no_grad():
            out = bundle.vqvae(x[:16])
            codes = bundle.vqvae.encode(x)
        counts = np.bincount(codes.flatten().numpy(), minlength=bundle.vqvae.config.num_codes).astype(np.float64)
        self.usage_histogram.set_usage(counts / max(1.0, counts.sum()))
        self.usage_histogram.set_title(f"Code usage ({len(x)} bundle examples)")
        self.preview.set_pairs(x[:16].numpy(), out.reconstruction.numpy(), caption="by the loaded model")

    def set_presentation(self, on: bool) -> None:
        for view in (*self.vqvae_views(), *self.prior_views()):
            view.set_presentation(on)
