"""Codebook panel: every code e_k as a tile, how often each is used, and where they sit.

* Tiles: decode(grid filled with k), or decode(background grid with k at the centre) minus
  decode(background grid): what one code adds.
* Usage: the histogram of k = argmin_j ||z_e(x) - e_j||_2 over a dataset split, with dead
  codes marked and perplexity exp(-sum p log p) (notes, "VQ-VAE").
* Map: codes and a cloud of encoder outputs z_e projected on two principal axes, each z_e
  coloured by the code it snaps to (the notes' Figure 1).

The heavy part runs in a worker thread on a copy of the model, throttled, so training can
push new weights many times a second while the GUI stays responsive.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QSplitter, QVBoxLayout, QWidget
from superqt.utils import thread_worker

from explorer.core.data import DataSplits
from explorer.core.projection import (DEFAULT_TILE_MODE, CodebookAnalysis, analyse_codebook, code_order,
                                      code_palette)
from explorer.ui.codebook.projection_plot import ProjectionPlot
from explorer.ui.codebook.tile_grid import CodeTileGrid
from explorer.ui.codebook.toolbar import CodebookToolbar
from explorer.ui.codebook.usage_histogram import UsageHistogram
from explorer.ui.widgets.split_loader import SplitLoader
from explorer.ui.widgets.plain_text import plain
from explorer.ui.state import AppState

MAX_SPLIT_IMAGES = 2000       # usage on train/validation counts at most this many images


class CodebookPanel(QWidget):
    """Tiles, usage histogram and PCA map of the loaded VQ-VAE's codebook."""

    title = "Codebook"
    help_text = ("Each tile is one code e_k decoded. Hover a tile, bar or point to find the same code "
                 "everywhere; click to paint with it in the latent editor. The histogram counts which code "
                 "each cell of the chosen images snaps to (k = argmin_j ||z_e - e_j||); ✕ marks dead codes. "
                 "The map projects encoder outputs and codes on their first two principal axes.")

    refresh_interval_ms = 300

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("codebookPanel")
        self.setAccessibleName("Codebook")
        self.toolbar = CodebookToolbar()
        self.tiles = CodeTileGrid()
        self.histogram = UsageHistogram()
        self.projection = ProjectionPlot()
        self.status = plain(QLabel(""))               # may quote an error
        self.status.setObjectName("codebookStatus")
        self.status.setAccessibleName("Codebook status")
        self.status.setWordWrap(True)
        plots = QSplitter(Qt.Vertical)
        plots.addWidget(self.histogram)
        plots.addWidget(self.projection)
        plots.setStretchFactor(0, 2)
        plots.setStretchFactor(1, 3)
        self.histogram.setMinimumHeight(140)
        self.projection.setMinimumHeight(220)
        self.plots_splitter = plots
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setObjectName("codebookSplitter")
        self.splitter.addWidget(self.tiles)
        self.splitter.addWidget(plots)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        self.analysis: CodebookAnalysis | None = None
        self.palette_rgb = code_palette(1)
        self.sort_mode, self.tile_mode, self.split = "index", DEFAULT_TILE_MODE, "examples"
        self.toolbar.show_tile_mode(self.tile_mode)
        self._splits: DataSplits | None = None
        self._worker = None
        self._dirty = False
        self._generation = 0
        self._pending: tuple[str, int] = ("", -1)      # (images described, generation) of the running worker
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(self.refresh_interval_ms)
        self._throttle.timeout.connect(self._start_analysis)
        self.loader = SplitLoader(self)
        self._wire()
        self._rebuild()

    def _wire(self) -> None:
        for view in (self.tiles, self.histogram, self.projection):
            view.code_hovered.connect(self.state.code_hovered.emit)
            view.code_clicked.connect(self.state.select_code)
        self.state.code_hovered.connect(self._show_hovered)
        self.state.code_selected.connect(self.tiles.set_selected)
        self.state.bundle_changed.connect(self._rebuild)
        self.state.weights_updated.connect(lambda which: which == "vqvae" and self.request_refresh())
        self.toolbar.tile_mode_changed.connect(self._tile_mode_changed)
        self.toolbar.sort_mode_changed.connect(self._sort_mode_changed)
        self.toolbar.split_changed.connect(self._split_changed)
        self.loader.loaded.connect(self._splits_loaded)
        self.loader.failed.connect(self._splits_failed)

    # -- model changes ----------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._generation += 1
        self.analysis = None
        self._splits = None
        self.toolbar.set_splits_available(False)
        bundle = self.state.bundle
        self.setEnabled(bundle is not None)
        if bundle is None:
            self.status.setText("No model loaded.")
            return
        k = bundle.vqvae.config.num_codes
        self.palette_rgb = code_palette(k)
        self.tiles.set_tiles(np.zeros((k, 1, 1, 3), dtype=np.uint8))
        self.tiles.set_order(np.arange(k))
        self.tiles.set_selected(self.state.selected_code)
        self.status.setText(f"Computing the {k} code tiles…")
        if bundle.data:
            self.loader.request(bundle.data)
        self._start_analysis()

    def request_refresh(self) -> None:
        """Recompute soon; many requests within the interval give one recomputation."""
        if not self._throttle.isActive():
            self._throttle.start()

    def is_busy(self) -> bool:
        """True while a recomputation runs or is scheduled."""
        return self._worker is not None or self._throttle.isActive() or self._dirty

    def _split_images(self) -> tuple[torch.Tensor | None, str]:
        bundle = self.state.bundle
        if self.split in ("train", "validation") and self._splits is not None:
            data = self._splits.train if self.split == "train" else self._splits.val
            n = min(len(data), MAX_SPLIT_IMAGES)
            note = f" (first {n} of {len(data)})" if n < len(data) else ""
            return data.images[:n], f"{self.split} set{note}"
        if bundle.examples is not None and len(bundle.examples):
            return bundle.examples.images, f"{len(bundle.examples)} bundle examples"
        return None, "no images"

    def _start_analysis(self) -> None:
        bundle = self.state.bundle
        if bundle is None:
            return
        if self._worker is not None:
            self._dirty = True                       # run again when the current one ends
            return
        self._dirty = False
        model = copy.deepcopy(bundle.vqvae).cpu().eval()   # the worker never touches the display model
        images, what = self._split_images()
        gen = self._generation
        worker = thread_worker(analyse_codebook, start_thread=False, ignore_errors=True)(
            model, self.tile_mode, images)
        self._pending = (what, gen)
        # Bound methods of this QObject: Qt drops the connections if the panel is destroyed first.
        worker.returned.connect(self._analysis_done)
        worker.errored.connect(self._analysis_failed)
        worker.finished.connect(self._worker_finished)
        self._worker = worker
        worker.start()

    def _worker_finished(self) -> None:
        self._worker = None
        if self._dirty:
            self._start_analysis()

    def _analysis_failed(self, exc: Exception) -> None:
        self.status.setText(f"Could not analyse the codebook: {exc}")

    def _analysis_done(self, result: CodebookAnalysis) -> None:
        what, gen = self._pending
        if gen != self._generation or self.state.bundle is None:
            return                                   # a result for a bundle no longer shown
        self.analysis = result
        self.tiles.set_tiles(result.tiles)
        self.tiles.set_cell_outline(result.cell)
        usage = result.usage
        self.tiles.set_counts(None if usage is None else usage.counts)
        self.histogram.set_usage(usage, self.palette_rgb, what)
        self.projection.set_map(result.cloud, self.palette_rgb, None if usage is None else usage.dead)
        self._apply_order()
        extra = ""
        if result.tile_mode == "contribution" and result.window is not None:
            t, l, b, r = result.window
            extra = (f" Each tile: code k in the middle cell (dashed) of a grid of code {result.neutral_code} "
                     f"(the most used), minus that grid alone: red brighter, blue darker, faint = adds "
                     f"little there; the {b - t}×{r - l} pixels it changes.")
        used = "" if usage is None else f" {int((usage.counts > 0).sum())} of {len(usage.counts)} codes used."
        self.status.setText(f"K = {len(result.tiles)} codes, D = {result.codebook.shape[1]}.{used}{extra}")

    # -- options ----------------------------------------------------------------------------
    def _apply_order(self) -> None:
        if self.analysis is None:
            return
        counts = None if self.analysis.usage is None else self.analysis.usage.counts
        if self.sort_mode == "usage" and counts is None:
            self.status.setText("Sorting by usage needs images to count on; showing index order.")
        self.tiles.set_order(code_order(self.analysis.codebook, self.sort_mode, counts))

    def _sort_mode_changed(self, mode: str) -> None:
        self.sort_mode = mode
        self._apply_order()

    def _tile_mode_changed(self, mode: str) -> None:
        self.tile_mode = mode
        self._start_analysis()

    def _split_changed(self, split: str) -> None:
        self.split = split
        self._start_analysis()

    def _splits_loaded(self, splits: DataSplits) -> None:
        self._splits = splits
        self.toolbar.set_splits_available(True)

    def _splits_failed(self, message: str) -> None:
        self.toolbar.set_splits_available(False)
        self.state.message.emit(message)

    def _show_hovered(self, code: int) -> None:
        self.tiles.set_hovered(code)
        self.histogram.set_hovered(code)
        self.projection.set_hovered(code)

    # -- window hooks -----------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("codebook/sort", self.sort_mode)
        settings.setValue("codebook/tiles", self.tile_mode)
        settings.setValue("codebook/splitter", self.splitter.saveState())

    def restore_settings(self, settings: QSettings) -> None:
        for combo, key in ((self.toolbar.sort_mode, "codebook/sort"), (self.toolbar.tile_mode, "codebook/tiles")):
            idx = combo.findData(settings.value(key, combo.currentData()))
            if idx >= 0:
                combo.setCurrentIndex(idx)
        state = settings.value("codebook/splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def set_presentation(self, on: bool) -> None:
        """Larger fonts, plot titles, axis and tick labels; tile numbers stay (and grow)."""
        font = self.font()
        font.setPointSizeF(14.0 if on else QApplication.font().pointSizeF())
        self.setFont(font)
        self.tiles.set_presentation(on)
        self.histogram.set_presentation(on)
        self.projection.set_presentation(on)
