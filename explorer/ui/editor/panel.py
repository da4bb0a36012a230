"""Latent-grid editor: edit a VQ-VAE's code grid and see the decoder's answer live.

input | code grid | decoded D(e_z) | difference. Each cell holds k = argmin_j ||z_e(x) - e_j||_2
(notes, "VQ-VAE"); painting a cell swaps e_k for another code vector and the decoder shows
what that code means in context. Edits go through a QUndoStack; decoding is coalesced to
at most once per event-loop pass, so a fast drag never queues up work.
"""
from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget)

from explorer.core.data import DataSplits, ImageSet
from explorer.core.latent_edit import GridEdit, ImageBrowser, LatentGrid, SourceEncoding, encode_source
from explorer.core.projection import Influence, diverging_rgb
from explorer.ui.editor.commands import GridEditCommand, SourceCommand
from explorer.ui.editor.edit_bar import EditBar
from explorer.ui.editor.grid_files import GridFiles
from explorer.ui.editor.influence_loader import InfluenceLoader
from explorer.ui.editor.live_refresh import HOVER_HINT, WEIGHTS_REFRESH_MS, LiveRefreshMixin
from explorer.ui.editor.prior_runs import PriorRunsMixin
from explorer.ui.editor.resampler import PriorStepper
from explorer.ui.editor.source_bar import SourceBar
from explorer.ui.state import AppState
from explorer.ui.widgets.draw_canvas import DrawCanvas
from explorer.ui.widgets.error_banner import ErrorBanner
from explorer.ui.widgets.grid_view import LatentGridView
from explorer.ui.widgets.image_view import ImageView
from explorer.ui.widgets.plain_text import plain
from explorer.ui.widgets.split_loader import SplitLoader


NOTHING_TO_COMPARE = ("Nothing to compare yet: this grid has no input image. "
                      "Edit the grid to see what your edits change.")


class LatentEditor(LiveRefreshMixin, PriorRunsMixin, QWidget):
    """Edit the code grid of one image, drawing, prior sample or grid file."""

    title = "Latent editor"
    help_text = ("Left-drag on the code grid paints the selected code; right-click picks a cell's code; "
                 "Shift+drag (or Select region) marks a rectangle to randomise or resample with the prior. "
                 "Hover a cell to see its distance to the nearest and runner-up codes and the part of the "
                 "image it influences. Ctrl+Z / Ctrl+Shift+Z undo and redo.")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("latentEditor")
        self.setAccessibleName("Latent editor")
        self.grid = LatentGrid(1, (1, 1))
        self.undo_stack = QUndoStack(self)
        self.source: SourceEncoding | None = None
        self.influence: Influence | None = None
        self.decoded: np.ndarray | None = None          # float (C, H, W) of the grid now shown
        self._reference: np.ndarray | None = None       # what the difference subtracts
        self._preview: np.ndarray | None = None         # codes shown while the prior samples
        self._stroke_before: np.ndarray | None = None
        self._draw_before: tuple[SourceEncoding | None, np.ndarray] | None = None
        self._decode_pending = self._encode_pending = False
        self._decode_dirty = self._rebuild_pending = False   # work skipped while hidden
        self._weights_stale = self._distances_stale = False
        self._hovered: tuple[int, int] = (-1, -1)
        self._sample_name = "prior sample"              # the source label of the grid the prior is drawing
        self._images: ImageSet | None = None
        self._splits: DataSplits | None = None
        self.browser = ImageBrowser(np.zeros(0))
        self._rng = np.random.default_rng()
        self._build()
        self.grid.add_listener(self._grid_changed)
        state.bundle_changed.connect(self._bundle_changed)
        state.weights_updated.connect(self._weights_updated)
        state.code_selected.connect(self._code_selected)
        state.grid_opened.connect(self.open_grid)
        state.code_hovered.connect(self.grid_view.set_highlight_code)
        self._rebuild()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.source_bar = SourceBar()
        self.edit_bar = EditBar(self.undo_stack)
        self.input_view = ImageView("inputView", "input x", "Input image")
        self.canvas = DrawCanvas()
        self.input_stack = QStackedWidget()
        self.input_stack.setObjectName("inputStack")
        self.input_stack.setAccessibleName("Input")
        self.input_stack.addWidget(self.input_view)
        self.input_stack.addWidget(self.canvas)
        self.grid_view = LatentGridView()
        self.decoded_view = ImageView("decodedView", "decoded D(e_z)", "Decoded output")
        self.diff_view = ImageView("differenceView", "difference", "Difference image")
        views = QHBoxLayout()
        for w, stretch in ((self.input_stack, 2), (self.grid_view, 3), (self.decoded_view, 2), (self.diff_view, 2)):
            views.addWidget(w, stretch)
        self.edit_bar.add_to_second_row(*self.source_bar.file_buttons())
        self.cell_info = plain(QLabel(HOVER_HINT))
        self.cell_info.setObjectName("cellInfo")
        self.cell_info.setAccessibleName("Cell information")
        self.cell_info.setWordWrap(True)
        self.error_label = ErrorBanner()
        layout = QVBoxLayout(self)
        for w in (self.source_bar, self.edit_bar):
            layout.addWidget(w)
        layout.addLayout(views, 1)
        layout.addWidget(self.cell_info)
        layout.addWidget(self.error_label)
        self.stepper = PriorStepper(self)
        self.loader = SplitLoader(self)
        self.files = GridFiles(self, self._grid_model)
        self.influence_loader = InfluenceLoader(self)
        self._weights_timer = QTimer(self)
        self._weights_timer.setSingleShot(True)
        self._weights_timer.setInterval(WEIGHTS_REFRESH_MS)
        self._wire()

    def _wire(self) -> None:
        g, sb, eb = self.grid_view, self.source_bar, self.edit_bar
        g.stroke_started.connect(self._stroke_started)
        g.stroke_cell.connect(self._stroke_cell)
        g.stroke_finished.connect(self._stroke_finished)
        g.cell_picked.connect(lambda i, j: self.state.select_code(int(self.grid.codes[i, j])))
        g.cell_hovered.connect(self._cell_hovered)
        g.region_changed.connect(lambda r: eb.set_region_available(r is not None))
        eb.select_tool_toggled.connect(lambda on: setattr(g, "select_mode", on))
        eb.randomise_requested.connect(self._randomise)
        eb.resample_requested.connect(self._resample)
        eb.replace_requested.connect(self.replace_all)
        eb.reset_requested.connect(lambda: self._push_edit(self.grid.reset()))
        eb.paint_code_changed.connect(self.state.select_code)
        sb.step_requested.connect(self._step_image)
        sb.random_requested.connect(lambda: self._show_image(self.browser.random(self._rng)))
        sb.class_changed.connect(self._class_changed)
        sb.dataset_changed.connect(self._dataset_changed)
        sb.draw_toggled.connect(self._draw_toggled)
        sb.clear_requested.connect(self.canvas.clear)
        sb.sample_requested.connect(self._sample_prior)
        sb.load_requested.connect(self.files.ask_load)
        sb.save_requested.connect(lambda: self.files.ask_save(self.grid.codes))
        self.files.loaded.connect(self._file_loaded)
        self.files.saved.connect(lambda path: self.state.message.emit(f"Saved the code grid to {path}"))
        self.files.error.connect(self.show_error)
        self.canvas.drawn.connect(self._canvas_drawn)
        self.canvas.stroke_finished.connect(self._canvas_stroke_finished)
        self.stepper.stepped.connect(self._prior_stepped)
        self.stepper.finished.connect(self._prior_finished)
        self.stepper.failed.connect(self.show_error)
        self.stepper.running_changed.connect(self._prior_running)
        self.loader.loaded.connect(self._splits_loaded)
        self.loader.failed.connect(lambda msg: self.state.message.emit(msg))
        self.influence_loader.ready.connect(self._influence_ready)
        self._weights_timer.timeout.connect(self._weights_tick)
        for name, keys, slot in (("undoAction", [QKeySequence.Undo], self.undo_stack.undo),
                                 ("redoAction", [QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo],
                                  self.undo_stack.redo),
                                 ("previousAction", [QKeySequence(Qt.Key_PageUp)], lambda: self._step_image(-1)),
                                 ("nextAction", [QKeySequence(Qt.Key_PageDown)], lambda: self._step_image(1))):
            action = QAction(name, self)
            action.setObjectName(name)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # -- bundle -----------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._rebuild_pending = False
        self.stepper.cancel()
        self.undo_stack.clear()
        bundle = self.state.bundle
        self.setEnabled(bundle is not None)
        if bundle is None:
            self.decoded_view.set_image(None, "No model loaded")
            return
        cfg = bundle.vqvae.config
        self.grid.num_codes = cfg.num_codes
        self.grid_view.set_num_codes(cfg.num_codes)
        self.edit_bar.set_num_codes(cfg.num_codes)
        self._code_selected(self.state.selected_code)
        self.canvas.resize_canvas(cfg.image_size)
        self.influence_loader.forget()                 # measured off the GUI thread on first hover
        self.influence = self.influence_loader.cached(bundle.vqvae)
        self._weights_stale = self._distances_stale = False
        self.source_bar.set_prior_available(bundle.prior is not None)
        self._offer_prior_classes()
        self.edit_bar.set_region_available(self.grid_view.region is not None, has_prior=bundle.prior is not None)
        self.source_bar.set_validation_available(False)
        self.source = None
        self._use_images(bundle.examples)
        if not self._show_image(self.browser.step(1), undoable=False):
            blank = np.zeros((cfg.grid_size, cfg.grid_size), dtype=np.int64)
            self._switch_source(SourceEncoding(None, blank, label="empty grid", kind="file"), blank)
        if bundle.data:
            self.loader.request(bundle.data)

    def _splits_loaded(self, splits: DataSplits) -> None:
        self._splits = splits
        self.source_bar.set_validation_available(len(splits.val) > 0)
        self._offer_prior_classes()                   # now with the dataset's class names

    # -- sources ----------------------------------------------------------------------------
    def _use_images(self, images: ImageSet | None) -> None:
        self._images = images if images is not None and len(images) else None
        labels = self._images.labels.numpy() if self._images is not None else np.zeros(0)
        keep = self.browser.class_filter
        self.browser = ImageBrowser(labels)
        self.browser.class_filter = keep if keep in self.browser.classes() else -1
        names = dict(enumerate(self._splits.class_names)) if self._splits is not None else {}
        self.source_bar.set_classes(self.browser.classes(), names)
        self.source_bar.set_has_images(self._images is not None)

    def _dataset_changed(self, which: str) -> None:
        use_val = which == "validation" and self._splits is not None
        self._use_images(self._splits.val if use_val else self.state.bundle.examples)
        self._show_image(self.browser.step(1))

    def _class_changed(self, cls: int) -> None:
        self.browser.class_filter = cls
        self._show_image(self.browser.step(1))

    def _step_image(self, delta: int) -> None:
        self._show_image(self.browser.step(delta))

    def _show_image(self, index: int | None, undoable: bool = True) -> bool:
        if index is None or self._images is None or self.state.bundle is None:
            return False
        label = int(self._images.labels[index])
        name = f"image {index}" + (f" (class {label})" if label >= 0 else "")
        src = encode_source(self.state.bundle.vqvae, self._images.images[index].numpy(), name, "image")
        self.set_source(src, undoable)
        return True

    def set_source(self, src: SourceEncoding, undoable: bool = True) -> None:
        """Show ``src``; as one undo step unless ``undoable`` is False (the first grid)."""
        self.stepper.cancel()
        self.clear_error()
        if undoable and self.source is not None:
            old = (self.source, self.grid.codes.copy())
            self.undo_stack.push(SourceCommand(self._switch_source, old, (src, src.codes), f"show {src.label}"))
        else:
            self._switch_source(src, src.codes)

    def _switch_source(self, src: SourceEncoding, codes: np.ndarray) -> None:
        self.source = src
        self.source_bar.set_source_text(src.label)
        self._forget_hover()                           # the last hover described the old grid
        drawing = src.kind == "drawing"
        self.source_bar.draw.blockSignals(True)
        self.source_bar.draw.setChecked(drawing)
        self.source_bar.draw.blockSignals(False)
        self.source_bar.set_drawing(drawing)
        self.input_stack.setCurrentWidget(self.canvas if drawing else self.input_view)
        bundle = self.state.bundle
        if src.image is not None:
            self.input_view.set_image(src.image)
            self._reference = src.image
            if src.kind == "drawing":
                self.canvas.canvas[:] = src.image.mean(0)
                self.canvas.update()
        else:
            self.input_view.set_image(None, f"{src.label}:\nno input image")
            with torch.no_grad():
                self._reference = bundle.vqvae.decode(torch.from_numpy(src.codes)[None])[0].numpy()
        self.diff_view.set_caption("decoded − input" if src.image is not None else "decoded − starting grid")
        self.grid.load(codes, original=src.codes)

    # -- drawing ----------------------------------------------------------------------------
    def _draw_toggled(self, on: bool) -> None:
        self.input_stack.setCurrentWidget(self.canvas if on else self.input_view)
        if on:
            self._draw_before = (self.source, self.grid.codes.copy())
            self._encode_drawing()
            self._canvas_stroke_finished()

    def _canvas_drawn(self) -> None:
        if self._draw_before is None:
            self._draw_before = (self.source, self.grid.codes.copy())
        self._encode_pending = True
        self._schedule_decode()

    def _encode_drawing(self) -> None:
        self._encode_pending = False
        bundle = self.state.bundle
        if bundle is None:
            return
        src = encode_source(bundle.vqvae, self.canvas.image(bundle.vqvae.config.in_channels), "drawing", "drawing")
        self._switch_source(src, src.codes)

    def _canvas_stroke_finished(self) -> None:
        if self._encode_pending:
            self._encode_drawing()
        if self._draw_before is not None and self.source is not None and self._draw_before[0] is not None:
            self.undo_stack.push(SourceCommand(self._switch_source, self._draw_before,
                                               (self.source, self.grid.codes.copy()), "draw"))
        self._draw_before = None

    # -- painting ---------------------------------------------------------------------------
    def _stroke_started(self) -> None:
        self._stroke_before = self.grid.codes.copy()

    def _stroke_cell(self, i: int, j: int) -> None:
        code = self.state.selected_code
        if self._stroke_before is not None and self.grid.codes[i, j] != code:
            self.grid.apply(self.grid.paint([(i, j)], code))   # shown live, pushed once on release

    def _stroke_finished(self) -> None:
        before, self._stroke_before = self._stroke_before, None
        if before is not None:
            edit = GridEdit.between(before, self.grid.codes, f"paint {self.state.selected_code}")
            if len(edit):
                self.undo_stack.push(GridEditCommand(self.grid, edit, already_applied=True))

    def _push_edit(self, edit: GridEdit) -> None:
        if len(edit):
            self.undo_stack.push(GridEditCommand(self.grid, edit))

    def replace_all(self, old_code: int, new_code: int) -> None:
        """Every cell holding ``old_code`` gets ``new_code`` (one undo step)."""
        self._push_edit(self.grid.replace_all(old_code, new_code))

    def _randomise(self) -> None:
        if self.grid_view.region is not None:
            self._push_edit(self.grid.randomise(self.grid_view.region, self._rng))

    def _code_selected(self, code: int) -> None:
        k = int(code) % max(1, self.grid.num_codes)
        self.edit_bar.set_paint_code(k, self.grid_view.colour(k))

    # -- files ------------------------------------------------------------------------------
    def _grid_model(self) -> tuple[int, tuple[int, int]]:
        cfg = self.state.bundle.vqvae.config
        return cfg.num_codes, (cfg.grid_size, cfg.grid_size)

    def open_grid(self, request) -> None:
        """Show a grid another panel sent through ``AppState.open_in_editor`` (one undo step)."""
        bundle = self.state.bundle
        if bundle is None:
            return
        if self._rebuild_pending:          # hidden since the bundle changed: build for it now, not when shown
            self._rebuild()
        num_codes, shape = self._grid_model()
        codes = np.asarray(request.codes, dtype=np.int64)
        if codes.shape != shape or codes.min() < 0 or codes.max() >= num_codes:
            self.show_error(f"That grid ({codes.shape[0]}×{codes.shape[1]}) does not fit this model.")
            return
        if request.image is not None:
            src = encode_source(bundle.vqvae, request.image, request.label, request.kind)
            src = SourceEncoding(src.image, codes, src.distances, src.is_logit, request.label, request.kind)
        else:
            src = SourceEncoding(None, codes, label=request.label, kind=request.kind)
        self.set_source(src)
        self._grid_changed()

    def _file_loaded(self, codes: np.ndarray, name: str) -> None:
        self.set_source(SourceEncoding(None, codes, label=name, kind="file"))

    def show_error(self, text: str) -> None:
        self.error_label.show_error(text)
        self.state.message.emit(text)

    def clear_error(self) -> None:
        self.error_label.hide()

    # -- decoding and hover -----------------------------------------------------------------
    def _grid_changed(self) -> None:
        self.grid_view.set_codes(self.grid.codes, self.grid.original)
        self._refresh_hover()                          # the cell under the pointer may hold a new code
        self._schedule_decode()

    def _schedule_decode(self) -> None:
        """Decode at most once per event-loop pass, however many edits arrive."""
        if not self._decode_pending:
            self._decode_pending = True
            QTimer.singleShot(0, self._decode_now)

    def _decode_now(self) -> None:
        self._decode_pending = False
        bundle = self.state.bundle
        if bundle is None:
            return
        if not self.isVisible():
            self._decode_dirty = True                      # decoded when shown (showEvent)
            return
        self._decode_dirty = False
        if self._encode_pending:
            self._encode_drawing()
        codes = self._preview if self._preview is not None else self.grid.codes
        with torch.no_grad():
            self.decoded = bundle.vqvae.decode(torch.from_numpy(np.ascontiguousarray(codes))[None])[0].numpy()
        self.decoded_view.set_image(self.decoded)
        if self._reference is not None and self._reference.shape == self.decoded.shape:
            diff = (self.decoded - self._reference).mean(0)
            if self.source is not None and self.source.image is None and not np.abs(diff).max() > 1e-6:
                self.diff_view.set_image(None, NOTHING_TO_COMPARE)     # a sampled / loaded grid, unedited
            else:
                self.diff_view.set_image(diverging_rgb(diff, scale=0.5))

    # -- window hooks -----------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("latentEditor/animate", self.edit_bar.animate.isChecked())

    def restore_settings(self, settings: QSettings) -> None:
        self.edit_bar.animate.setChecked(str(settings.value("latentEditor/animate", False)).lower() == "true")

    def set_presentation(self, on: bool) -> None:
        font = self.font()
        font.setPointSizeF(14.0 if on else QApplication.font().pointSizeF())
        self.setFont(font)
