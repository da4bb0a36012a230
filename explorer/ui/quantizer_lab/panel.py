"""The Quantizer lab: every way to make a bottleneck discrete, trained side by side.

Pick 2-8 methods (or a preset) and one codebook size K, press Start: the methods train on the
same batches in a worker thread (:mod:`.lab_run`, the core's :func:`~explorer.core.quantizer_lab.run_lab`).
Live: one colour per method in four plots (:mod:`.curves`), a usage histogram and a PCA map per
method (:mod:`.codebook_cards`). At the end (or on Stop) the held-out results fill the table
(:mod:`.results_table`); a row opens as the app's model or is saved as a bundle.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QSplitter, QWidget

from explorer.core.bundle import Bundle
from explorer.core.data import DataConfig, usable_root
from explorer.core.models.vqvae import VQVAE
from explorer.core.quantizer_lab import MAX_METHODS, METHODS, LabConfig, LabStep, MethodResult
from explorer.ui.state import AppState
from explorer.ui.workers import save_bundle_async

from .codebook_cards import CodebookCards
from .controls import LabControls
from .curves import LabCurves
from .lab_run import LabFailed, LabJob, LabRun, LabStatus
from .results_table import ResultsTable


REDRAW_MS = 50                     # one plot is redrawn per tick: a repaint never blocks the window for long


class QuantizerLabPanel(QWidget):
    """Controls on the left; curves, codebook cards and the results table on the right."""

    title = "Quantizer lab"
    object_name = "quantizerLab"
    help_text = (
        "<p>Train several discrete bottlenecks side by side on the same batches, from the same start, and "
        "watch codebook collapse happen (or not).</p>"
        "<p><b>Methods.</b> Plain VQ: z<sub>q</sub> = e<sub>k</sub>, k = argmin<sub>j</sub> ‖z<sub>e</sub> − "
        "e<sub>j</sub>‖, straight-through gradient, loss ‖x − D(z<sub>q</sub>)‖² + ‖sg[z<sub>e</sub>] − "
        "z<sub>q</sub>‖² + β‖z<sub>e</sub> − sg[z<sub>q</sub>]‖². EMA codebook updates, k-means "
        "initialisation and restarts of dead codes keep codes in use; cosine and factorised VQ look codes up "
        "as unit vectors (in fewer dimensions); the rotation trick passes the gradient through a rotation "
        "instead of copying it; FSQ rounds each of a few bounded dimensions (implicit codebook, no loss "
        "terms); Gumbel-Softmax samples a code with an annealed temperature.</p>"
        "<p><b>Presets.</b> <i>collapse</i>: VQ with its codebook drawn from N(0, 1) (far from the data), "
        "plain VQ, and VQ with k-means + restarts. <i>STE vs rotation trick</i>. <i>VQ vs FSQ</i>.</p>"
        "<p><b>Plots.</b> Reconstruction MSE, perplexity exp(H) of the batch's codes, codes used in the "
        "batch and dead codes (unused for 50 steps), one colour per method. Each card shows the usage "
        "histogram on held-out images and a PCA map of encoder outputs (dots, coloured by their code) and "
        "codes (outlined dots; dead codes ✕): collapse is codes far from every dot.</p>"
        "<p><b>Results.</b> Held-out MSE, codes used, perplexity, seconds per step and the bits per image "
        "of a uniform code, h·w·log<sub>2</sub> K. Select a row and press <i>Open in main window</i> to "
        "explore that model in the other panels, or <i>Save as bundle</i>. The same run from the command "
        "line: <code>python -m explorer compare-quantizers --methods vq,fsq --json</code>.</p>")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quantizerLab")
        self.setAccessibleName("Quantizer lab")
        self.state = state
        self.controls = LabControls(self)
        self.controls.setMaximumWidth(300)
        self.curves = LabCurves(self)
        self.cards = CodebookCards(self)
        self.results = ResultsTable(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("quantizerLabSplitter")
        self.splitter.setAccessibleName("Curves, codebooks and results")
        for widget, stretch in ((self.curves, 3), (self.cards, 4), (self.results, 2)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, stretch)
        self.splitter.setChildrenCollapsible(False)
        self.curves.setMinimumHeight(150)
        self.cards.setMinimumHeight(180)
        self.results.setMinimumHeight(90)
        self.splitter.setSizes([270, 300, 130])
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.splitter, 1)
        self.run: LabRun | None = None
        self.models: dict[str, VQVAE] = {}
        self.result_rows: list[MethodResult] = []
        self.examples = None
        self.data_config: DataConfig | None = None
        self.config: LabConfig | None = None
        self.last_step: LabStep | None = None
        self.confirm_discard: Callable[[str], bool] | None = None   # the main window's "discard unsaved?" question
        self._save_workers: list = []
        self.run_event_handler: Callable[[object], None] = self._on_event   # benchmarks wrap it to time it
        # Events only buffer numbers; this timer draws one plot per tick, alternating curves and cards.
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.draw_next)
        self._curves_turn = True
        self.controls.start_clicked.connect(self.start)
        self.controls.pause_clicked.connect(self.toggle_pause)
        self.controls.stop_clicked.connect(self.stop)
        self.results.open_requested.connect(self.open_row)
        self.results.save_requested.connect(lambda row: self.save_row(row))
        self.state.bundle_changed.connect(self._default_data_from_bundle)
        self._default_data_from_bundle()

    # ------------------------------------------------------------------ running
    @property
    def is_running(self) -> bool:
        return self.run is not None and not self.run.is_done

    def is_busy(self) -> bool:
        return self.is_running

    def start(self) -> bool:
        """Start the chosen methods; False (with a status message) when the choice is not runnable."""
        if self.is_running:
            return False
        methods = self.controls.chosen_methods()
        if not 2 <= len(methods) <= MAX_METHODS:
            self._status(f"Pick 2 to {MAX_METHODS} methods (now {len(methods)}).", error=True)
            return False
        try:
            self.data_config = self._data_config()
            self.config = LabConfig(methods=methods, num_codes=self.controls.codebook_size(),
                                    steps=int(self.controls.steps.value()))
        except ValueError as exc:
            self._status(str(exc), error=True)
            return False
        self.models, self.result_rows, self.examples, self.last_step = {}, [], None, None
        self.curves.reset(methods, self.config.steps)
        self.cards.reset(methods)
        self.results.clear()
        self.controls.progress.setRange(0, self.config.steps)
        self.controls.progress.setValue(0)
        self.run = LabRun(LabJob(self.config, self.data_config), self)
        self.run.event.connect(lambda event: self.run_event_handler(event))
        self.run.paused.connect(lambda: self._set_running(True, paused=True))
        self.run.resumed.connect(lambda: self._set_running(True))
        self.run.finished.connect(self._on_finished)
        self._set_running(True)
        self.redraw_timer.start()
        self._status("Starting …")
        self.run.start()
        return True

    def draw_next(self) -> bool:
        """Redraw one waiting plot (curves and cards take turns); stop the timer when nothing waits."""
        first, second = (self.curves, self.cards) if self._curves_turn else (self.cards, self.curves)
        self._curves_turn = not self._curves_turn
        if first.draw_next() or second.draw_next():
            return True
        if not self.is_running:
            self.redraw_timer.stop()
        return False

    def toggle_pause(self) -> None:
        if not self.is_running:
            return
        if self.run.is_paused:
            self.run.resume()
            self._status("Resumed.")
        else:
            self.run.pause()
            self._status("Paused: press Resume to go on.")

    def stop(self) -> None:
        """End after the current step; held-out results of what was trained so far fill the table."""
        if self.is_running and not self.run.is_stopping:
            self.run.stop()
            self._status("Stopping after this step, then measuring on held-out images …")

    def shutdown(self) -> None:
        """Abort a run (the window is closing) and wait for its thread."""
        if self.run is not None and not self.run.is_done:
            self.run.abort()
            self.run.wait(10.0)

    # ------------------------------------------------------------------ events
    def _on_event(self, event: object) -> None:
        if isinstance(event, LabStatus):
            self._status(event.text)
        elif isinstance(event, LabFailed):
            self._status(event.message, error=True)
        elif isinstance(event, LabStep):
            self._on_step(event)

    def _on_step(self, step: LabStep) -> None:
        self.last_step = step
        self.curves.append(step.step, step.metrics)
        if step.snapshots is not None:
            self.cards.update_snapshots(step.snapshots)
        self.controls.progress.setValue(step.step)
        if step.results is None:
            self._status(f"Step {step.step}/{step.total_steps} · " +
                         " · ".join(f"{METHODS[m.name].label}: {m.codes_used} codes" for m in step.metrics[:4]))
            return
        self.models = dict(step.models or {})
        self.examples = step.examples
        self.result_rows = list(step.results)
        self.results.set_results(self.result_rows)
        how = "Stopped" if step.stopped else "Done"
        self._status(f"{how} after {step.step} steps: held-out results below. Select a row to open or save "
                     f"its model.")

    def _on_finished(self) -> None:
        self._set_running(False)

    def _set_running(self, running: bool, paused: bool = False) -> None:
        self.controls.set_running(running, paused)

    def _status(self, text: str, error: bool = False) -> None:
        self.controls.status.setText(text)
        self.controls.status.setStyleSheet("color: #b00020;" if error else "")

    # ------------------------------------------------------------------ rows -> bundles
    def bundle_for_row(self, row: int) -> Bundle | None:
        """A new unsaved bundle holding a copy of the row's trained model (None for no such row)."""
        if not 0 <= row < len(self.result_rows):
            return None
        result = self.result_rows[row]
        model = self.models.get(result.method)
        if model is None:
            return None
        cfg = self.config
        history = {"source": "quantizer lab", "method": result.method, "steps": self.last_step.step if
                   self.last_step else 0, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
                   "seconds": result.seconds}
        metrics = {"mse": result.mse, "perplexity": result.perplexity, "codes_used_count": result.codes_used,
                   "codes_used": result.codes_used_fraction}
        return Bundle(vqvae=copy.deepcopy(model).eval(), prior=None, name=f"{result.label} (quantizer lab)",
                      data=self.data_config.to_dict() if self.data_config else {}, history=history,
                      metrics=metrics, examples=copy.deepcopy(self.examples), path=None)

    def open_row(self, row: int) -> bool:
        """Make the row's model the app's model (asks first when the current one is unsaved)."""
        bundle = self.bundle_for_row(row)
        if bundle is None:
            return False
        if self.confirm_discard is not None and not self.confirm_discard(
                f"Opening {bundle.name} replaces the loaded model."):
            return False
        self.state.set_bundle(bundle, None)
        self.state.message.emit(f"Opened {bundle.name}: save it with File ▸ Save as to keep it.")
        return True

    def save_row(self, row: int, path: str | Path | None = None):
        """Save the row's model as a bundle (asks for the folder when ``path`` is None); returns the worker."""
        bundle = self.bundle_for_row(row)
        if bundle is None:
            return None
        if path is None:
            suggested = str(Path.home() / f"quantizer-lab-{self.result_rows[row].method}")
            path, _ = QFileDialog.getSaveFileName(self, "Save the model bundle as (a folder)", suggested)
            if not path:
                return None
        worker = save_bundle_async(bundle, path)
        worker.returned.connect(lambda saved: self._status(f"Saved {bundle.name} to {saved}."))
        worker.errored.connect(lambda exc: self._status(f"Could not save the bundle: {exc}", error=True))
        self._save_workers.append(worker)
        worker.finished.connect(lambda w=worker: self._save_workers.remove(w) if w in self._save_workers else None)
        worker.start()
        return worker

    # ------------------------------------------------------------------ data
    def _data_config(self) -> DataConfig:
        name = self.controls.dataset.currentText().strip() or "mnist"
        root = self.controls.data_root.text().strip() or None
        base = dict(self._bundle_data()) if self._bundle_data().get("name") == name else {}
        base.update({"name": name, "root": root})
        try:
            return DataConfig.from_dict(base)
        except ValueError:
            return DataConfig(name=name, root=root)

    def _bundle_data(self) -> dict:
        bundle = self.state.bundle
        return dict(bundle.data) if bundle is not None and isinstance(bundle.data, dict) else {}

    def _default_data_from_bundle(self) -> None:
        """Offer the loaded model's dataset and folder until the user types their own."""
        if self.is_running or self.controls.data_root.isModified():
            return
        data = self._bundle_data()
        if data.get("name"):
            self.controls.dataset.setCurrentText(str(data["name"]))
        root = usable_root(data.get("root")) if isinstance(data.get("root"), str) else None
        self.controls.data_root.setText(root or "")

    # ------------------------------------------------------------------ window hooks
    def set_presentation(self, on: bool) -> None:
        self.controls.setMaximumWidth(460 if on else 300)
        self.controls.setMinimumWidth(380 if on else 0)
        self.curves.set_presentation(on)
        self.cards.set_presentation(on)
        self.results.set_presentation(on)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("methods", ",".join(self.controls.chosen_methods()))
        settings.setValue("preset", self.controls.preset.currentText())
        settings.setValue("num_codes", self.controls.codebook_size())
        settings.setValue("steps", int(self.controls.steps.value()))

    def restore_settings(self, settings: QSettings) -> None:
        try:
            preset = settings.value("preset")
            methods = settings.value("methods")
            if isinstance(methods, str) and methods:
                self.controls.set_methods([m for m in methods.split(",") if m in METHODS])
            if isinstance(preset, str) and self.controls.preset.findText(preset) >= 0:
                self.controls.preset.blockSignals(True)
                self.controls.preset.setCurrentText(preset)
                self.controls.preset.blockSignals(False)
            if settings.value("num_codes") is not None:
                self.controls.set_codebook_size(int(settings.value("num_codes")))
            if settings.value("steps") is not None:
                self.controls.steps.setValue(int(settings.value("steps")))
        except (TypeError, ValueError):
            pass                           # unreadable settings: keep the defaults
