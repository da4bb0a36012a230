"""The Sampling panel: an autoregressive prior draws a code grid one position at a time.

    p(z) = prod_{i,j} p(z_ij | z_<ij),   z_ij ~ Cat(pi_theta(z_<ij))   (notes, "PixelCNN: Inference")

Shown live at every step: the grid filling in raster order, the conditional at the current
position (with decoded tiles of the likeliest codes), the decoded partial image, the causal
view (first-layer mask and the measured receptive field, plain vs gated), the running
log-likelihood with per-step surprise, the measured cost of sampling, teacher forcing on a
real image (one pass for every position) and the whole batch as a gallery.

The run is a :class:`~explorer.core.sampling_session.SamplingSession`: it steps back exactly,
and the same seed and settings give the same grid as ``bundle.prior.sample(...)``. The
animation is timer-driven: a worker (on copies of the models) computes the whole run and
decodes every step's images ahead, so a tick only shows what is ready; until then a step is
computed on the GUI thread. Receptive fields and the cost are measured in workers too.
"""
from __future__ import annotations

import copy
import time

import numpy as np
import torch
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (QApplication, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout,
                               QWidget)

from explorer.core.models.class_heads import ClassHeadsTransformerPrior
from explorer.core.projection import code_palette
from explorer.core.receptive_field import fields_of_both_kinds, prior_kind, single_prior
from explorer.core.sampling_session import SamplingSession, StepViews, decode_grids, precompute_run, step_views
from explorer.ui.sampling.controls import SamplingControls, SteadyButton
from explorer.ui.sampling.cost_view import CostView, copy_prior, measure_on_copy, summary_line
from explorer.ui.sampling.distribution import TOP_TILES, DistributionView
from explorer.ui.sampling.export import export_frame_png, export_run_gif
from explorer.ui.sampling.gallery import GalleryView
from explorer.ui.sampling.help_text import HELP_TEXT
from explorer.ui.sampling.grid_canvas import SamplingGridView
from explorer.ui.sampling.jobs import LatestJob
from explorer.ui.sampling.loglik_strip import LogLikelihoodStrip
from explorer.ui.sampling.receptive_view import ReceptiveFieldView
from explorer.ui.sampling.run_change import change_note, drawing_only, reproduce_text
from explorer.ui.sampling.steady_label import SteadyLabel
from explorer.ui.sampling.teacher_forcing_source import TeacherForcingSource
from explorer.ui.sampling.teacher_forcing_view import TeacherForcingView
from explorer.ui.state import AppState
from explorer.ui.widgets.image_view import ImageView
from explorer.ui.widgets.naming import named
from explorer.ui.widgets.plain_text import escape_markup

MAX_SPEED_INTERVAL_MS = 5      # at max speed a step every 5 ms (200 steps/s) ...
MAX_SPEED_FRAME_S = 1 / 30     # ... and the views redrawn at most this often
WEIGHTS_REFRESH_MS = 300       # new weights (training) refresh the run at most this often
SECONDARY_REFRESH_S = 0.25     # while playing fast, tiles, causal view and status refresh this often
RUN_DELAY_MS = 150             # settings must rest this long before the worker computes the run
LIVE_ROW_STRETCH = {False: (5, 4), True: (6, 2)}   # live views : log-likelihood strip (presentation: views first)
SIDE_STRETCH = {False: (5, 3), True: (5, 2)}       # live views : side tabs (a smaller gallery when presenting)
DETAIL_TEXTS = ("Hide details", "Show details")
COST_MEASURING = "<b>Cost</b> (this machine): measuring…"


class SamplingPanel(QWidget):
    """Step-by-step, animated raster-order sampling from the bundle's prior."""

    title = "Sampling"
    help_text = HELP_TEXT

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("samplingPanel")
        self.setAccessibleName("Sampling")
        self.session: SamplingSession | None = None
        self.playing = False
        self.palette_rgb = code_palette(16)
        self.background_code = 0               # fills unsampled cells before decoding (then greyed)
        self.decoded: np.ndarray | None = None
        self.gallery_grids: np.ndarray | None = None
        self.views: list[StepViews] | None = None      # decoded views of steps 0..T of this run (worker)
        self._heavy_pending = True             # workers start when the panel is first shown
        self._rebuild_pending = False
        self._weights_stale = False
        self.last_tick_steps = 0
        self._secondary_at = 0.0
        self._frame_at = 0.0
        self._pending_t: int | None = None     # step to show again once the worker has the new run
        self.run_note = ""                     # what the last settings change did to the run
        self._build()
        state.bundle_changed.connect(self._bundle_changed)
        state.weights_updated.connect(self._weights_updated)
        self._rebuild()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.controls = SamplingControls()
        self.reproduce = named(QLabel(), "samplingReproduce", "How to reproduce this grid in Python")
        self.reproduce.setWordWrap(True)
        self.reproduce.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.grid_view = named(SamplingGridView(), "samplingGrid", "Code grid being sampled",
                               "Cells already sampled in their code colour; the outlined cell was just drawn")
        self.decoded_view = ImageView("samplingDecoded", "decoded partial grid", "Decoded image of the partial grid")
        self.distribution = DistributionView()
        self.receptive = ReceptiveFieldView()
        self.loglik = LogLikelihoodStrip()
        self.cost = CostView()
        self.teacher = TeacherForcingView()
        self.gallery = GalleryView()
        self.tabs = named(QTabWidget(), "samplingTabs", "Causal view, gallery, teacher forcing and cost")
        for widget, text in ((self.receptive, "Causal view"), (self.gallery, "Gallery"),
                             (self.teacher, "Teacher forcing"), (self.cost, "Cost")):
            self.tabs.addTab(widget, text)
        self.status = named(SteadyLabel(lines=1), "samplingStatus", "Sampling status")
        self.cost_line = named(SteadyLabel(COST_MEASURING, lines=2), "samplingCostSummary",
                               "Cost of sampling in one line")
        self.details_toggle = named(SteadyButton(DETAIL_TEXTS), "samplingDetails", "Show or hide the details",
                                    "The causal view, gallery, teacher forcing and cost tabs, the Python call that "
                                    "reproduces the grid and the cost line (hidden at first in presentation mode)")
        self.details_toggle.setCheckable(True)
        self.details_toggle.setChecked(True)
        self.details_toggle.toggled.connect(self._show_details)

        live = QGridLayout()                       # what changes at every step, always in view
        live.setHorizontalSpacing(10)
        for col, (w, stretch) in enumerate(((self.grid_view, 3), (self.decoded_view, 3), (self.distribution, 4))):
            live.addWidget(w, 0, col)
            live.setColumnStretch(col, stretch)
        live.addWidget(self.loglik, 1, 0, 1, 3)
        live.addWidget(self.cost_line, 2, 0, 1, 3)
        self.live = live
        self.body = body = QHBoxLayout()
        body.addLayout(live)
        body.addWidget(self.tabs)
        self._stretch_rows(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.details_toggle)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.reproduce)
        layout.addLayout(body, 1)
        layout.addLayout(bottom)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._weights_timer = QTimer(self, singleShot=True, interval=WEIGHTS_REFRESH_MS)
        self._weights_timer.timeout.connect(self._weights_refresh)
        self._run_timer = QTimer(self, singleShot=True, interval=RUN_DELAY_MS)
        self._run_timer.timeout.connect(self._request_run)
        self.field_job = LatestJob(self)
        self.cost_job = LatestJob(self)
        self.run_job = LatestJob(self)
        self.teacher_forcing = TeacherForcingSource(self.teacher, self.state, self)
        self._wire()

    def _wire(self) -> None:
        c = self.controls
        c.play_toggled.connect(self.toggle_play)
        c.step_requested.connect(self.step)
        c.step_back_requested.connect(self.step_back)
        c.reset_requested.connect(self.reset)
        c.run_to_end_requested.connect(self.run_to_end)
        c.speed_changed.connect(self._speed_changed)
        c.settings_changed.connect(self._settings_changed)
        c.export_gif_requested.connect(self._ask_export_gif)
        c.export_png_requested.connect(self._ask_export_png)
        self.receptive.kind_changed.connect(lambda _kind: self._show_field())
        self.cost.measure_requested.connect(self._request_cost)
        self.gallery.image_clicked.connect(self._open_in_editor)
        self.field_job.done.connect(self._fields_ready)
        self.field_job.failed.connect(lambda _k, msg: self.receptive.clear(f"Could not measure: {msg}"))
        self.cost_job.done.connect(self._cost_ready)
        self.cost_job.failed.connect(lambda _k, msg: self.cost.set_message(f"Could not measure: {msg}"))
        self.run_job.done.connect(self._run_ready)
        self.run_job.failed.connect(self._run_failed)
        for name, key, slot in (("samplingPlayAction", Qt.Key_Space, self.toggle_play),
                                ("samplingStepAction", Qt.Key_Right, self.step),
                                ("samplingStepBackAction", Qt.Key_Left, self.step_back),
                                ("samplingResetAction", Qt.Key_Home, self.reset)):
            action = QAction(name, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # -- public API -------------------------------------------------------------------------
    def current_grid(self) -> np.ndarray:
        """The grid being animated, int64 (H, W), -1 where nothing is sampled yet."""
        if self.session is None:
            return np.full(self.grid_view.codes.shape, -1, dtype=np.int64)
        return self.session.grid()

    def sampling_settings(self) -> dict:
        """temperature (0 when greedy), top_k, greedy, seed, label, n, index of the current run:
        ``bundle.prior.sample(n, temperature=..., top_k=..., labels=..., generator=
        torch.Generator().manual_seed(seed))[index]`` reproduces :meth:`current_grid` at the end."""
        s = self.session.settings if self.session is not None else self.controls.settings()
        d = s.to_dict()
        d["temperature"] = s.sampling_temperature
        return d

    def is_busy(self) -> bool:
        """Background work still running (the screenshot command waits for it)."""
        return (self.field_job.busy or self.cost_job.busy or self.run_job.busy or self._run_timer.isActive()
                or self.teacher_forcing.busy)

    # -- bundle -----------------------------------------------------------------------------
    def _bundle_changed(self) -> None:
        self.pause()
        self._rebuild_pending = not self.isVisible()
        if not self._rebuild_pending:
            self._rebuild()

    def _rebuild(self) -> None:
        self._rebuild_pending = False
        self.pause()
        if self.session is not None:
            self.session.close()
        self.session = None
        for job in (self.field_job, self.cost_job, self.run_job):
            job.forget()
        bundle = self.state.bundle
        prior = bundle.prior if bundle is not None else None
        self.setEnabled(prior is not None)
        if prior is None:
            message = "No model loaded" if bundle is None else "This bundle has no prior to sample from."
            self.status.setText(message)
            self.decoded_view.set_image(None, message)
            self.gallery.set_message(message)
            self.receptive.clear(message)
            self.cost.set_message(message)
            self.teacher.clear(message)
            self.reproduce.setText("")
            return
        pc = prior.config
        self.palette_rgb = code_palette(pc.num_codes)
        self.grid_view.set_num_codes(pc.num_codes)
        self.distribution.set_palette(self.palette_rgb)
        self.loglik.set_total(pc.height * pc.width)
        self.controls.set_model(pc.num_codes, pc.num_classes)
        with torch.no_grad():
            tiles = decode_grids(bundle.vqvae, np.repeat(np.arange(pc.num_codes)[:, None, None], pc.height, 1)
                                 .repeat(pc.width, 2))                              # (K, C, H, W)
        self.background_code = int(tiles.mean((1, 2, 3)).argmin())
        self.teacher_forcing.reset(self.palette_rgb)
        self.receptive.set_kind(prior_kind(prior))
        self.receptive.clear("Measuring the receptive fields…")
        self.cost.set_message("Measuring…")
        self.cost_line.setText(COST_MEASURING)            # never the previous bundle's numbers
        self.run_note = ""
        self._new_session(keep_t=0)
        self._heavy_pending = True
        if self.isVisible():
            self._start_heavy()

    def _start_heavy(self) -> None:
        """Receptive fields and cost, in workers (once per bundle, when first shown)."""
        self._heavy_pending = False
        prior = self.state.bundle.prior
        self.field_job.request(id(prior), fields_of_both_kinds, copy.deepcopy(single_prior(prior)).cpu().eval())
        self._request_cost()
        self.teacher_forcing.load_validation()

    def _request_cost(self) -> None:
        bundle = self.state.bundle
        if bundle is None or bundle.prior is None:
            return
        self.cost.set_message("Measuring…")
        self.cost_line.setText(COST_MEASURING)
        self.cost_job.request(("cost", id(bundle.prior), time.monotonic()), measure_on_copy,
                              copy_prior(bundle.prior), 1)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._rebuild_pending:
            self._rebuild()
        elif self._weights_stale:
            self._weights_refresh()
        if self._heavy_pending and self.state.bundle is not None and self.state.bundle.prior is not None:
            self._start_heavy()

    def _weights_updated(self, which: str) -> None:
        self._weights_stale = True
        if self.isVisible() and not self._weights_timer.isActive():
            self._weights_timer.start()

    def _weights_refresh(self) -> None:
        if not self._weights_stale or not self.isVisible() or self.session is None:
            return
        self._weights_stale = False
        self._new_session(keep_t=self.session.t, catch_up_now=True, kept=self.session.kept_record)
        self.teacher_forcing.score(self.teacher.example.value())

    # -- the run ----------------------------------------------------------------------------
    def _new_session(self, keep_t: int, catch_up_now: bool = False, kept=None) -> None:
        """A new run with the controls' settings, shown at step ``keep_t``; ``kept`` (a RunRecord of the
        earlier run's first steps) keeps those cells exactly as drawn."""
        prior = self.state.bundle.prior
        settings = self.controls.settings()
        if self.session is not None:
            self.session.close()
        self.session = SamplingSession(prior, settings, kept=kept)
        # Catching up to the same step is left to the worker (seconds of sampling on a busy CPU).
        self._pending_t = keep_t if keep_t > self.session.t else None
        if keep_t < self.session.t:
            self.session.seek(keep_t)
        if catch_up_now:                         # new weights: keep the picture steady
            self.session.seek(keep_t)
            self._pending_t = None
        self._update_reproduce()
        self.views = None
        self.gallery.set_outlined(settings.index)
        self._run_timer.start()
        self.refresh()

    def _settings_changed(self) -> None:
        if self.session is None:
            return
        old = self.session.settings
        new = self.controls.settings()
        if new == old:
            return
        if {**old.to_dict(), "index": 0} == {**new.to_dict(), "index": 0}:
            # Only the animated grid changed: the batch is the same run.
            self.session.settings = new
            self.views = None                    # the steps are the same, the animated grid is not
            self._update_reproduce()
            self.gallery.set_outlined(new.index)
            self._run_timer.start()
            self.refresh()
            return
        t = self.session.t if self._pending_t is None else self._pending_t     # the step the user sees
        keep = 0 < t < self.session.total and t == self.session.t and drawing_only(old, new)
        self.run_note = change_note(old, new, t, self.session.total, keep)
        if self.run_note:
            self.state.message.emit(self.run_note)
        # T, top-k or greedy mid-run: the cells drawn so far stay and the rest follow the new setting.
        self._new_session(keep_t=t, kept=self.session.shown_record() if keep else None)

    def _update_reproduce(self) -> None:
        self.reproduce.setText(reproduce_text(self.session))

    def step(self) -> None:
        self._pending_t = None
        if self.session is not None and self.session.step() is not None:
            self.refresh()

    def step_back(self) -> None:
        self._pending_t = None
        if self.session is not None:
            self.pause()
            if self.session.step_back():
                self.refresh()

    def reset(self) -> None:
        self._pending_t = None
        if self.session is not None:
            self.pause()
            self.run_note = ""
            if self.session.kept:                # a fresh run with the settings now chosen
                self._new_session(keep_t=0)
                return
            self.session.reset()
            self.refresh()

    def run_to_end(self) -> None:
        self._pending_t = None
        if self.session is not None:
            self.pause()
            self.session.run_to_end()
            self.refresh()

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.session is None:
            return
        if self.session.finished:
            self.reset()
        self.playing = True
        self.controls.set_playing(True)
        self._speed_changed(self.controls.speed_value())

    def pause(self) -> None:
        was_playing = self.playing
        self._timer.stop()
        self.playing = False
        self.controls.set_playing(False)
        if was_playing:
            self.refresh()                      # the views skipped while playing fast catch up

    def _speed_changed(self, speed: int) -> None:
        if not self.playing:
            return
        self._timer.start(MAX_SPEED_INTERVAL_MS if speed == 0 else int(round(1000 / speed)))

    def _tick(self) -> None:
        """One step per tick; showing a step is cheap once the worker has decoded the run."""
        if not self.playing or self.session is None:
            self._timer.stop()
            return
        if self._pending_t is not None:
            return                               # the worker is catching the new run up: wait
        if self.session.kept and self.views is None and self.session.t == len(self.session.history) \
                and self.run_job.busy:
            return                               # the next step needs the kept cells replayed: the worker does it
        self.last_tick_steps = int(self.session.step() is not None)
        if self.session.finished:
            self.pause()                         # shows the last step
        elif self.controls.speed_value() != 0 or time.perf_counter() - self._frame_at >= MAX_SPEED_FRAME_S:
            self.refresh()                       # at max speed the views are drawn at most 30 times a second

    # -- views ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the session's current step in every live view."""
        session = self.session
        if session is None:
            return
        self._frame_at = time.perf_counter()
        grid = session.grid()
        step = session.current
        position = step.position if step is not None else None
        probs = session.probs()
        self.grid_view.set_codes(grid)
        self.grid_view.set_active_cell(position)
        self.controls.set_progress(session.t, session.total)
        self.loglik.show_surprises(session.surprises())
        if self.views is not None:
            views = self.views[session.t]                        # decoded ahead by the worker
        else:
            views = step_views(self.state.bundle.vqvae, grid, position, probs, self.background_code, TOP_TILES)
        self.decoded = views.image
        self.decoded_view.set_image(self.decoded)
        self.decoded_view.set_caption(f"decoded · {session.t}/{session.total} cells")
        s = session.settings
        what = ("greedy" if s.greedy else f"T={s.temperature:g}") + (f", top-{s.top_k}" if s.top_k else "")
        fast = self.playing and (self.controls.speed_value() == 0 or self.controls.speed_value() > 10)
        now = time.perf_counter()
        secondary = not fast or now - self._secondary_at >= SECONDARY_REFRESH_S or session.finished
        # Playing fast, the tiles, the causal view and the status follow 4 times a second.
        self.distribution.show_step(probs, session.chosen() if probs is not None else -1, position,
                                    views.top_codes, list(views.tiles), what, tiles=secondary)
        if not secondary:
            return
        self._secondary_at = now
        self._show_field()
        label = "" if s.label is None else f" · class {s.label}"
        if self.run_note:                        # what the last change did, then where the run is
            self.status.setText(f"{self.run_note} · step {session.t}/{session.total}{self._belief_text()}")
            return
        self.status.setText(f"step {session.t}/{session.total}"
                            + (f" · just drew z{position} = {session.chosen()}" if position is not None else "")
                            + f" · grid {s.index + 1} of a batch of {s.n}{label}{self._belief_text()}")

    def _belief_text(self) -> str:
        """For a prior with class heads: the class it is drawing, p(c | z_<t) (its mixture's weights)."""
        prior, t = self.state.bundle.prior, self.session.t
        if not isinstance(prior, ClassHeadsTransformerPrior) or t == 0:
            return ""
        belief = prior.class_belief(torch.from_numpy(self.session.grid()).long()[None], t)[0]   # -1: not drawn yet
        c = int(belief.argmax())
        return f" · drawing class {c} ({float(belief[c]):.0%})"

    def _show_field(self) -> None:
        session = self.session
        if session is None:
            return
        step = session.current
        if step is not None:
            i, j = step.position
        else:
            i, j = 0, 0
        self.receptive.show_position(i, j)

    # -- worker results ---------------------------------------------------------------------
    def _fields_ready(self, _key, result) -> None:
        fields, firsts, notes = result
        self.receptive.set_fields(fields, firsts, notes)
        self._show_field()

    def _cost_ready(self, _key, result) -> None:
        cost, batch = result                     # one grid, and a batch or None (cost_view.measure_on_copy)
        self.cost.set_cost(cost, batch)
        self.cost_line.setText(summary_line(cost, batch))
        self.teacher.set_sampling_time(cost.naive_grid_s)

    def _request_run(self) -> None:
        bundle = self.state.bundle
        if bundle is None or bundle.prior is None or self.session is None:
            return
        key = (id(self.session), self.session.settings)
        self.run_job.request(key, precompute_run, copy_prior(bundle.prior), copy.deepcopy(bundle.vqvae).cpu().eval(),
                             self.session.settings, self.background_code, TOP_TILES, self.session.kept_record)

    def _run_ready(self, key, result) -> None:
        record, views, images = result
        if self.session is None or key != (id(self.session), self.session.settings):
            return
        self.session.adopt(record)
        self.views = views
        if self._pending_t is not None:
            self.session.seek(self._pending_t)          # back at the step shown before the change
            self._pending_t = None
            self.refresh()
        self.gallery_grids = record.grids[-1]
        self.gallery.set_batch(self.gallery_grids, images, self.session.settings.index)

    def _run_failed(self, _key, message: str) -> None:
        self.gallery.set_message(f"Could not sample: {message}")
        if self._pending_t is not None and self.session is not None:
            self.session.seek(self._pending_t)          # catch up here instead
            self._pending_t = None
            self.refresh()

    def _open_in_editor(self, index: int) -> None:
        if self.gallery_grids is None or self.session is None:
            return
        s = self.session.settings
        what = "greedy" if s.greedy else f"T={s.temperature:g}"
        self.state.open_in_editor(self.gallery_grids[index],
                                  f"sample {index} of {s.n} (seed {s.seed}, {what})", kind="sample")

    # -- export -----------------------------------------------------------------------------
    def export_gif(self, path: str) -> str:
        """The whole run as a GIF, one frame per raster step (the current step is kept)."""
        return str(export_run_gif(self.session, self.state.bundle.vqvae, self.palette_rgb, self.background_code, path))

    def export_png(self, path: str) -> str:
        """The current frame as a PNG for a slide."""
        return str(export_frame_png(self.session, self.state.bundle.vqvae, self.palette_rgb, self.background_code,
                                    path))

    def _ask_export_gif(self) -> None:
        if self.session is None:
            return
        self.pause()
        path, _ = QFileDialog.getSaveFileName(self, "Export sampling animation", "sampling.gif", "GIF (*.gif)")
        if path:
            self._export(self.export_gif, path)

    def _ask_export_png(self) -> None:
        if self.session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export current frame", "sampling.png", "PNG (*.png)")
        if path:
            self._export(self.export_png, path)

    def _export(self, fn, path: str) -> None:
        try:
            written = fn(path)
        except (OSError, ValueError) as exc:
            self.status.setText(f"Could not export: {escape_markup(exc)}")         # a rich-text label
            return
        self.status.setText(f"Exported {escape_markup(written)}")
        self.state.message.emit(f"Exported {written}")

    # -- window hooks -----------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        self.controls.save_settings(settings)

    def restore_settings(self, settings: QSettings) -> None:
        self.controls.restore_settings(settings)

    def set_presentation(self, on: bool) -> None:
        font = self.font()
        font.setPointSizeF(14.0 if on else QApplication.font().pointSizeF())
        self.setFont(font)
        for view in (self.distribution, self.loglik, self.teacher, self.receptive):
            view.set_presentation(on)
        # The grid, the distribution and the growing digit are what the room must see: they take
        # the width and most of the height (the details are hidden until asked for).
        self._stretch_rows(on)
        self.details_toggle.setChecked(not on)
        self.refresh()

    def _stretch_rows(self, presentation: bool) -> None:
        views, strip = LIVE_ROW_STRETCH[presentation]
        self.live.setRowStretch(0, views)
        self.live.setRowStretch(1, strip)
        for index, stretch in enumerate(SIDE_STRETCH[presentation]):
            self.body.setStretch(index, stretch)

    def _show_details(self, on: bool) -> None:
        for widget in (self.tabs, self.reproduce, self.cost_line):
            widget.setVisible(on)
        self.loglik.set_headline_lines(2 if on else 1)       # the whole width: one line is enough
        self.details_toggle.setText(DETAIL_TEXTS[0] if on else DETAIL_TEXTS[1])
