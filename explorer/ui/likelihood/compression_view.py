"""Compression of the bundle's example images with its prior: a table and a rate-distortion plot.

A code grid z is entropy-coded with the prior's own conditionals, bits ~= -log2 p(z) =
-sum_ij log2 p(z_ij | z_<ij) (notes, "VQ-VAE for image compression" and "PixelCNN"). The run
(``compressionRun``) encodes and decodes the images in a worker thread on a copy of the
models, checks the round trip is exact, and fills the table (``compressionTable``: the set's
mean first, then each image) and the plot (``compressionRateDistortion``: bits per image
against MSE, the bundle as a point, JPEG and WebP swept over quality as curves).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)
from superqt.utils import thread_worker

from explorer.core.bundle import Bundle
from explorer.core.compression import compression_report
from explorer.ui.presentation import PLOT_TEXT_PT, style_plot
from explorer.ui.widgets.plain_text import escape_markup, plain

COLUMNS = (("name", "image"), ("raw_bytes", "raw bytes"), ("png_bytes", "PNG bytes"),
           ("uniform_bits", "uniform bits"), ("ideal_bits", "ideal bits"),
           ("coded_bits", "coded bits"), ("mse", "MSE"), ("psnr", "PSNR dB"))
COLUMN_TIPS = {
    "raw_bytes": "C·H·W bytes of the uint8 image",
    "png_bytes": "the lossless PNG (Pillow, optimize=True)",
    "uniform_bits": "H·W·log₂K: every code written with the same number of bits",
    "ideal_bits": "−log₂ p(z) = −Σ log₂ p(z_ij | z_<ij) under the prior",
    "coded_bits": "the image's share of the real range-coded stream (shares sum to its length)",
    "mse": "mean squared error of the decoded image, pixels in [0, 1]",
    "psnr": "10·log₁₀(1 / MSE)",
}
MAX_IMAGES = 256                  # the run uses at most this many example images
PRESENTING_HIDDEN = ("raw_bytes", "uniform_bits")   # the same for every digit (the summary line has them):
PRESENTING_PLOT_MIN_WIDTH = 440                      # ... dropped when presenting, so the plot keeps room
EMPTY_RANGE = ((50.0, 8000.0), (1e-5, 0.02))   # bits per image, MSE: the empty plot's view (28x28 digits' usual span)
POINT_COLOURS = ((213, 94, 0), (204, 121, 167), (0, 0, 0), (230, 159, 0))   # bundles (Okabe-Ito)
JPEG_COLOUR, WEBP_COLOUR = (0, 114, 178), (0, 158, 115)


def conditional_refusal(prior, has_labels: bool) -> str | None:
    """Why "Compress examples" refuses this prior, in one plain line, or None when it can run.
    A class-conditional prior codes each grid given its class, so it needs the images' labels
    (the examples' labels are stored in the .dlc's side block, :func:`run_report`)."""
    if getattr(prior.config, "num_classes", 0) and not has_labels:
        return "This prior is class-conditional and these images have no labels: it cannot code them."
    return None


def run_report(snapshot: Bundle, images: np.ndarray, labels: np.ndarray | None, names: list[str], name: str,
               extra: dict, progress) -> dict:
    """compression_report, with the labels for a class-conditional prior (see :func:`conditional_refusal`)."""
    conditional = bool(getattr(snapshot.prior.config, "num_classes", 0))
    return compression_report(snapshot, images, names, name, extra, progress=progress,
                              labels=labels if conditional else None)


def _format(key: str, value) -> str:
    if key == "name":
        return str(value)
    value = float(value)
    if math.isinf(value):
        return "∞"
    if key == "mse":
        return f"{value:.5f}"
    if key in ("raw_bytes", "png_bytes") and value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


class _Progress(QObject):
    """Carries the worker's (done, total) to the GUI thread (a queued signal)."""
    advanced = Signal(int, int)


class CompressionView(QWidget):
    """Table and rate-distortion plot of compressing the bundle's example images."""

    finished = Signal()                   # a run ended (filled, or failed with a message)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("compressionView")
        self.setAccessibleName("Compression")
        self.extra_bundles: dict[str, Bundle] = {}     # more bundles to show as points (same image shape)
        self._given: tuple[np.ndarray, list[str]] | None = None   # set_images(); None: the bundle's examples
        self._what = "example images"
        self.report: dict | None = None
        self._worker = None
        self._generation = 0
        self._presentation = False

        self.run_button = QPushButton("Compress examples")
        self.run_button.setObjectName("compressionRun")
        self.run_button.setAccessibleName("Compress the example images")
        self.run_button.setToolTip("Encode the bundle's example images to a bitstream with the prior, decode it "
                                   "again, and compare with PNG, JPEG and WebP")
        self.run_button.clicked.connect(self.run)
        self.status = plain(QLabel(""))               # errors quote file names
        self.status.setObjectName("compressionStatus")
        self.status.setAccessibleName("Compression status")
        self.status.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setObjectName("compressionSummary")
        self.summary.setAccessibleName("Compression summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("compressionTable")
        self.table.setAccessibleName("Compression per image")
        for c, (key, title) in enumerate(COLUMNS):
            header = QTableWidgetItem(title)
            header.setToolTip(COLUMN_TIPS.get(key, ""))
            self.table.setHorizontalHeaderItem(c, header)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("compressionRateDistortion")
        self.plot.setAccessibleName("Rate-distortion: bits per image against MSE")
        self.plot.setMenuEnabled(False)
        self.plot.setLogMode(x=True, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "bits per image (log)")
        self.plot.setLabel("left", "MSE (log, pixels in [0, 1])")
        self.plot.setTitle("rate–distortion: lower left is better", size="9pt")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(10, -10))       # bottom left: the empty corner

        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.status, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setSizes([560, 440])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        self._clear_plot()
        self._progress = _Progress(self)
        self._progress.advanced.connect(self._advanced)
        state.bundle_changed.connect(self._bundle_changed)
        state.weights_updated.connect(self._weights_updated)
        self._bundle_changed()

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._worker is not None

    def set_images(self, images: np.ndarray | None, names: list[str] | None = None, what: str = "images") -> None:
        """Compress these uint8 (N, C, H, W) images (at most MAX_IMAGES) instead of the bundle's
        examples, e.g. validation images or a folder; None goes back to the examples."""
        if images is None:
            self._given, self._what = None, "example images"
        else:
            images = np.asarray(images, dtype=np.uint8)[:MAX_IMAGES]
            names = list(names)[:MAX_IMAGES] if names is not None else [f"image {i}" for i in range(len(images))]
            self._given, self._what = (images, names), what
        self._bundle_changed()

    def _images(self) -> tuple[np.ndarray, list[str]] | None:
        if self._given is not None:
            return self._given if len(self._given[0]) else None
        bundle = self.state.bundle
        if bundle is None or bundle.examples is None or len(bundle.examples) == 0:
            return None
        images = bundle.examples.images[:MAX_IMAGES].cpu().numpy()
        labels = bundle.examples.labels[:MAX_IMAGES].tolist()
        return images, [f"example {i}" + (f" (label {y})" if y >= 0 else "") for i, y in enumerate(labels)]

    def _labels(self) -> np.ndarray | None:
        """The examples' labels when every one is known (given images have none)."""
        bundle = self.state.bundle
        if self._given is not None or bundle is None or bundle.examples is None:
            return None
        labels = bundle.examples.labels[:MAX_IMAGES].cpu().numpy().astype(np.int64)
        return labels if len(labels) and (labels >= 0).all() else None

    def _refusal(self) -> str | None:
        bundle = self.state.bundle
        return None if bundle is None or bundle.prior is None else \
            conditional_refusal(bundle.prior, self._labels() is not None)

    def _weights_updated(self, _which: str) -> None:
        self._bundle_changed()

    def _bundle_changed(self) -> None:
        """Another bundle or new weights: results on screen no longer apply; a running one is dropped."""
        self._generation += 1
        bundle = self.state.bundle
        refusal = self._refusal()
        ok = bundle is not None and bundle.prior is not None and self._images() is not None and refusal is None
        self.run_button.setEnabled(ok and not self.running)
        if bundle is None:
            self.status.setText("No model loaded.")
        elif bundle.prior is None:
            self.status.setText("This bundle has no prior: train one to compress with it.")
        elif refusal is not None:
            self.status.setText(refusal)
        elif self._images() is None:
            self.status.setText(f"There are no {self._what} to compress.")
        else:
            self.status.setText(f"Ready: {len(self._images()[0])} {self._what}.")
        if self.report is not None:
            self.report = None
            self.table.setRowCount(0)
            self._clear_plot()
            self.summary.setText("")

    def run(self) -> None:
        """Start the encode/decode round trip in a worker (on copies of the models)."""
        found = self._images()
        bundle = self.state.bundle
        if self.running or found is None or bundle is None or bundle.prior is None:
            return
        refusal = self._refusal()
        if refusal is not None:
            self.status.setText(refusal)
            return
        images, names = found
        labels = self._labels()
        snapshot = Bundle(vqvae=copy.deepcopy(bundle.vqvae).cpu().eval(),
                          prior=copy.deepcopy(bundle.prior).cpu().eval(), name=bundle.name)
        extra = dict(self.extra_bundles)
        name = bundle.name or "this bundle"
        generation = self._generation
        progress = self._progress

        def work() -> tuple[int, dict | None, str]:
            try:
                report = run_report(snapshot, images, labels, names, name, extra,
                                    lambda done, total: progress.advanced.emit(done, total))
            except Exception as exc:       # a model that cannot code these images: say so in the panel
                return generation, None, f"{type(exc).__name__}: {exc}"
            return generation, report, ""

        worker = thread_worker(work, start_thread=False, ignore_errors=True)()
        # Bound methods of this QObject: Qt drops the connections if the view is destroyed first.
        worker.returned.connect(self._returned)
        worker.finished.connect(self._finished)
        self._worker = worker
        self.run_button.setEnabled(False)
        self.status.setText(f"Encoding {len(names)} images…")
        worker.start()

    def _advanced(self, done: int, total: int) -> None:
        if self.running:
            half = total // 2
            what = "Encoding" if done <= half else "Decoding"
            self.status.setText(f"{what}: {done if done <= half else done - half} of {half} images…")

    def _returned(self, result: tuple[int, dict | None, str]) -> None:
        generation, report, error = result
        if generation != self._generation:
            return                          # the bundle changed while this ran
        if report is None:
            self.status.setText(f"Compression failed: {error}")
            return
        self.report = report
        self._fill_table(report)
        self._fill_plot(report["rd"])
        self._fill_summary(report)
        self.status.setText(f"Done: {report['mean']['count']} images encoded and decoded exactly.")

    def _finished(self) -> None:
        self._worker = None
        bundle = self.state.bundle
        self.run_button.setEnabled(bundle is not None and bundle.prior is not None and self._images() is not None
                                   and self._refusal() is None)
        self.finished.emit()

    # ------------------------------------------------------------------ showing results
    def _fill_table(self, report: dict) -> None:
        rows = [report["mean"], *report["rows"]]
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, (key, _) in enumerate(COLUMNS):
                text = f"mean of {row['count']}" if r == 0 and key == "name" else _format(key, row[key])
                item = QTableWidgetItem(text)
                if key != "name":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r == 0:
                    item.setFont(bold)
                self.table.setItem(r, c, item)
        self._fit_table_width()

    def _fit_table_width(self) -> None:
        """The table is never narrower than its columns (no horizontal scroll bar, any font size)."""
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        bar = self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(header.length() + 2 * self.table.frameWidth() + bar + 2)

    def _clear_plot(self, hint: bool = True) -> None:
        """Empty the plot; with ``hint``, show what it will hold over the usual range (decades labelled)."""
        self.plot.clear()
        self.legend.clear()
        if not hint:
            self.plot.enableAutoRange()
            return
        bits, mse = EMPTY_RANGE
        self._set_log_ticks("bottom", list(bits))
        self._set_log_ticks("left", list(mse))
        self.plot.setRange(xRange=[math.log10(v) for v in bits], yRange=[math.log10(v) for v in mse], padding=0)
        text = pg.TextItem("Compress examples to place\nthis bundle against JPEG's\nand WebP's quality sweeps",
                           color="#666", anchor=(0.5, 0.5))
        font = QFont(text.textItem.font())
        font.setPointSizeF(PLOT_TEXT_PT[self._presentation])
        text.setFont(font)
        text.setPos(*(sum(math.log10(v) for v in pair) / 2 for pair in EMPTY_RANGE))
        self.plot.addItem(text)

    def _set_log_ticks(self, axis: str, values: list[float]) -> None:
        """Ticks at 1, 2, 5 x 10^k over the data (log axes label crowded minor ticks otherwise); 1 and
        3 x 10^k on the bottom axis when presenting (larger numbers in a narrower plot)."""
        lo, hi = min(values), max(values)
        steps = (1, 3) if self._presentation and axis == "bottom" else (1, 2, 5)
        ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                 for m in steps if lo / 2.5 <= m * 10.0 ** e <= hi * 2.5]
        self.plot.getAxis(axis).setTicks([[(math.log10(t), f"{t:g}") for t in ticks], []])

    def _fill_plot(self, rd: dict) -> None:
        self._clear_plot(hint=False)
        everything = [p for p in (*rd["jpeg"], *rd["webp"], *rd["points"].values()) if p["mse"] > 0]
        if everything:
            self._set_log_ticks("bottom", [p["bits_per_image"] for p in everything])
            self._set_log_ticks("left", [p["mse"] for p in everything])
        width = 3 if self._presentation else 2
        for curve, label, colour, symbol in ((rd["jpeg"], "JPEG (quality sweep)", JPEG_COLOUR, "s"),
                                             (rd["webp"], "WebP (quality sweep)", WEBP_COLOUR, "t")):
            points = sorted((p["bits_per_image"], p["mse"]) for p in curve if p["mse"] > 0)
            if points:
                x, y = zip(*points)
                self.plot.plot(list(x), list(y), pen=pg.mkPen(colour, width=width), symbol=symbol,
                               symbolSize=7, symbolBrush=colour, symbolPen=None, name=label)
        for i, (name, point) in enumerate(rd["points"].items()):
            if point["mse"] <= 0:
                continue
            colour = POINT_COLOURS[i % len(POINT_COLOURS)]
            self.plot.plot([point["bits_per_image"]], [point["mse"]], pen=None, symbol="o",
                           symbolSize=16 if self._presentation else 12, symbolBrush=colour,
                           symbolPen=pg.mkPen("k", width=1), name=f"{escape_markup(name)} (VQ-VAE + prior)")

    def _fill_summary(self, report: dict) -> None:
        mean, rd = report["mean"], report["rd"]
        name = next(iter(rd["points"]), None)
        match = rd["match"].get(name, {}) if name else {}

        def bits(value) -> str:
            return "more than the sweep reaches" if value is None else f"{value:.0f}"

        self.summary.setText(
            f"{mean['coded_bits']:.1f} coded bits per image (ideal −log₂p(z) {mean['ideal_bits']:.1f}, uniform "
            f"{mean['uniform_bits']:.0f}; lossless PNG {8 * mean['png_bytes']:.0f}) at MSE {mean['mse']:.4f} "
            f"(PSNR {mean['psnr']:.1f} dB). For the same MSE, JPEG needs {bits(match.get('jpeg_bits'))} bits and "
            f"WebP {bits(match.get('webp_bits'))} bits per image (whole files).")

    # ------------------------------------------------------------------ presentation
    def set_presentation(self, on: bool) -> None:
        """Larger table text, plot fonts and thicker lines (View > Presentation mode)."""
        self._presentation = on
        size = 14.0 if on else QApplication.font().pointSizeF()
        for widget in (self.table, self.summary, self.status, self.run_button):
            font = QFont(widget.font())
            font.setPointSizeF(size)
            widget.setFont(font)
        # high contrast like the rest of presentation mode (item views do not follow its style sheet)
        self.table.setStyleSheet(
            "QTableWidget { background: #000000; color: #ffffff; gridline-color: #5a5a5a; }"
            "QHeaderView { background: #1a1a1a; }"
            "QHeaderView::section { background: #1a1a1a; color: #ffffff; border: 1px solid #5a5a5a; }"
            if on else "")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTextPen("k")
            self.plot.getAxis(axis).labelStyle["color"] = "#000"
        style_plot(self.plot, on, title="rate–distortion: lower left is better", title_color="#000",
                   text_color="#000")
        self.legend.setLabelTextColor("#000")
        self.legend.setLabelTextSize(f"{PLOT_TEXT_PT[on]}pt")
        for c, (key, _) in enumerate(COLUMNS):
            self.table.setColumnHidden(c, on and key in PRESENTING_HIDDEN)
        self.plot.setMinimumWidth(PRESENTING_PLOT_MIN_WIDTH if on else 0)
        self._fit_table_width()
        if self.report is not None:
            self._fill_plot(self.report["rd"])
        else:
            self._clear_plot()
