"""Likelihood & compression panel: exact likelihoods of code grids, anomaly detection, compression.

log p(z) = sum_ij log p(z_ij | z_<ij) under the PixelCNN prior, in nats, and -log2 p(z) bits
(notes, "Likelihood and anomaly detection"). Tab "Likelihood & anomalies": one image with a
heatmap of where the prior is surprised, then whole held-out sets scored, compared with a
threshold, a ROC curve and three scores side by side. Tab "Compression": the codes entropy-coded
with the prior's conditionals.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QSplitter, QTabWidget, QVBoxLayout, QWidget

from explorer.core.data import DataSplits

from ..state import AppState
from ..widgets.split_loader import SplitLoader
from .anomaly_view import AnomalyView
from .background_loader import BackgroundLoader, default_background
from .compression_view import CompressionView
from .single_image import SingleImageView


class LikelihoodPanel(QWidget):
    title = "Likelihood & compression"
    object_name = "likelihoodPanel"
    help_text = (
        "<p>Score images by the prior's exact log-likelihood of their code grids: where each image is "
        "surprising, how many bits the codes take, and which images look out of distribution "
        "(e.g. a digit 5 for a model trained on digits 1–4).</p>"
        "<p style='font-size:120%'>log p(z) = Σ<sub>i,j</sub> log p(z<sub>ij</sub> | z<sub>&lt;ij</sub>), "
        "&nbsp; bits = −log<sub>2</sub> p(z)</p>"
        "<p>(notes, <i>Likelihood and anomaly detection</i>: a low likelihood flags an anomaly.)</p>"
        "<p><b>Heatmap</b>: each code cell tinted by −log p(z<sub>ij</sub> | z<sub>&lt;ij</sub>) over the decoded "
        "image (white = as surprised as a uniform guess, log K). <b>Scores</b>, higher = more anomalous: "
        "<i>NLL</i> −log p(z); <i>likelihood ratio</i> −log p(z) + log p<sub>bg</sub>(z) against a background "
        "prior "
        "over the same codes (Ren et al. 2019); <i>complexity-corrected</i> −log<sub>2</sub> p(z) − L(z), L = a "
        "generic compressor's bits (Serrà et al. 2020). Plain likelihood also rewards simple inputs "
        "(Nalisnick et al. 2019); the two corrections cancel what both models share.</p>"
        "<p>The threshold flags images scoring at or above it: TPR = share of the anomalous set flagged, "
        "FPR = share of the normal set flagged. AUROC = chance that an anomalous image scores higher than a "
        "normal one. Click a least-likely image to open it in the latent editor.</p>")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("likelihoodPanel")
        self.setAccessibleName("Likelihood & compression")
        self.single = SingleImageView(state)
        self.anomaly = AnomalyView(state)
        self.compression = CompressionView(state)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setObjectName("likelihoodSplitter")
        self.splitter.addWidget(self.single)
        self.splitter.addWidget(self.anomaly)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([400, 840])
        self.tabs = QTabWidget()
        self.tabs.setObjectName("likelihoodTabs")
        self.tabs.setAccessibleName("Likelihood or compression")
        self.tabs.addTab(self.splitter, "Likelihood && anomalies")
        self.tabs.addTab(self.compression, "Compression")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        self.loader = SplitLoader(self)
        self.backgrounds = BackgroundLoader(self)
        self.loader.loaded.connect(self._splits_loaded)
        self.loader.failed.connect(self._splits_failed)
        self.backgrounds.ready.connect(self._background_ready)
        self.backgrounds.unavailable.connect(lambda msg: self._background_ready(None, msg))
        self.anomaly.picker.background_requested.connect(self._choose_background)
        self.anomaly.picker.shifts_changed.connect(self.single.set_shifts)
        self.anomaly.combined_fitted.connect(self.single.set_combined)
        state.bundle_changed.connect(self._bundle_changed)
        state.weights_updated.connect(self._weights_updated)
        self._rebuild_pending = True            # nothing is computed until the panel is first shown
        self._weights_stale = False

    def _bundle_changed(self) -> None:
        self._rebuild_pending = not self.isVisible()
        if not self._rebuild_pending:
            self._rebuild()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._rebuild_pending:
            self._rebuild()
        elif self._weights_stale:
            self._weights_updated("prior")

    def _rebuild(self) -> None:
        self._rebuild_pending = self._weights_stale = False
        bundle = self.state.bundle
        self.setEnabled(bundle is not None)
        self.single.background = None
        self.single.reset()
        self.anomaly.reset()
        if bundle is None:
            return
        if bundle.data:
            self.loader.request(dict(bundle.data, classes=None))   # every class: the others are the anomalies
        else:
            self._splits_failed("This bundle does not name its dataset.")
        self.backgrounds.load(default_background(self.state.path), bundle.vqvae)

    def _splits_loaded(self, splits: DataSplits) -> None:
        self.single.set_splits(splits)
        if len(splits.val):
            self.anomaly.set_heldout(splits.val, "validation", f"the validation split ({len(splits.val)} images)")

    def _splits_failed(self, message: str) -> None:
        self.single.set_splits(None)
        bundle = self.state.bundle
        n = 0 if bundle is None or bundle.examples is None else len(bundle.examples)
        first_line = message.strip().splitlines()[0].rstrip(".:") if message.strip() else "no dataset"
        self.anomaly.heldout_what = f"the bundle's {n} examples ({first_line})"
        self.state.message.emit(message)
        self.anomaly.refresh_view()

    def _background_ready(self, prior, name: str) -> None:
        self.single.set_background(prior)
        self.anomaly.set_background(prior, name)

    def _choose_background(self) -> None:
        from PySide6.QtWidgets import QFileDialog
        folder = QFileDialog.getExistingDirectory(self, "Background bundle (same VQ-VAE)")
        if folder and self.state.bundle is not None:
            self.backgrounds.load(folder, self.state.bundle.vqvae)

    def _weights_updated(self, which: str) -> None:
        """New weights (e.g. training snapshots): refresh while visible, else once when shown."""
        self._weights_stale = not self.isVisible()
        if self._weights_stale or self._rebuild_pending:
            return
        self.single.refresh()
        self.anomaly.request_refresh()

    def is_busy(self) -> bool:
        return self.anomaly.is_busy() or self.loader.busy or self.backgrounds.busy

    # -- window hooks -----------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("likelihood/splitter", self.splitter.saveState())
        settings.setValue("likelihood/tab", self.tabs.currentIndex())
        settings.setValue("likelihood/score", self.anomaly.kind)

    def restore_settings(self, settings: QSettings) -> None:
        state = settings.value("likelihood/splitter")
        if state is not None:
            self.splitter.restoreState(state)
        self.tabs.setCurrentIndex(int(settings.value("likelihood/tab", 0) or 0))
        i = self.anomaly.picker.kind.findData(settings.value("likelihood/score", "nll"))
        if i >= 0:
            self.anomaly.picker.kind.setCurrentIndex(i)

    def set_presentation(self, on: bool) -> None:
        font = self.font()
        font.setPointSizeF(14.0 if on else QApplication.font().pointSizeF())
        self.setFont(font)
        self.anomaly.set_presentation(on)
        self.compression.set_presentation(on)
