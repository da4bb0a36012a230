"""The latent editor's reactions to training and hover, kept cheap for the GUI thread.

Training sends weight snapshots up to 4 times a second; re-encoding the source image and
decoding the grid on each costs 50-120 ms on a CPU shared with the training thread (every
torch op releases the GIL and must win it back from the trainer). So a hidden editor only
marks itself stale and refreshes when shown, and a visible one refreshes at most once per
WEIGHTS_REFRESH_MS; a new model is taken in (re-encoding the image) only when shown.
The decoder influence rectangle is measured on first hover, in a worker.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QShowEvent

from explorer.core.latent_edit import describe_cell, encode_source
from explorer.core.projection import Influence

WEIGHTS_REFRESH_MS = 250      # at most one refresh per this many ms while training
HOVER_HINT = "Hover a cell to see its code and distances."


class LiveRefreshMixin:
    """Mixed into LatentEditor (a QWidget); uses its state, grid, views and loaders."""

    def _bundle_changed(self) -> None:
        """A new model (e.g. a training run started): rebuild now if visible, else when shown."""
        self.stepper.cancel()
        self._rebuild_pending = not self.isVisible()
        if not self._rebuild_pending:
            self._rebuild()

    def _weights_updated(self, which: str) -> None:
        """New weights (up to 4 a second while training): refresh at most once per
        WEIGHTS_REFRESH_MS while visible (first at once, the last one later), never while hidden."""
        self._weights_stale = True
        self._distances_stale |= which == "vqvae"
        if self.isVisible() and not self._weights_timer.isActive():
            self._weights_tick()

    def _weights_tick(self) -> None:
        if not self._weights_stale or not self.isVisible() or self.state.bundle is None:
            return
        self._weights_stale = False
        if self._distances_stale and self.source is not None and self.source.image is not None:
            fresh = encode_source(self.state.bundle.vqvae, self.source.image, self.source.label, self.source.kind)
            self.source.distances = fresh.distances        # z_e moved: refresh the distances
        self._distances_stale = False
        self._refresh_hover()                              # new distances for the hovered cell
        self._schedule_decode()
        self._weights_timer.start()                        # later snapshots wait for the next tick

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._rebuild_pending:
            self._rebuild()
        elif self._weights_stale:
            self._weights_tick()
        elif self._decode_dirty:
            self._schedule_decode()

    def _influence_ready(self, influence: Influence) -> None:
        self.influence = influence
        self._refresh_hover()

    def _refresh_hover(self) -> None:
        """Describe the hovered cell again after an edit (paint, undo, resample…): its code, the
        distances and the highlighted cells follow the grid, not the code it held on arrival."""
        if self._hovered[0] >= 0:
            self._cell_hovered(*self._hovered)

    def _forget_hover(self) -> None:
        """A new source: the hover line goes back to the hint; the next pointer move describes
        a cell of the new grid."""
        self._cell_hovered(-1, -1)
        self.cell_info.setText(HOVER_HINT)
        self.grid_view.forget_hover()

    def _cell_hovered(self, i: int, j: int) -> None:
        h, w = self.grid.shape
        if not (0 <= i < h and 0 <= j < w):
            i = j = -1                                     # off the grid, or a cell of an older, larger grid
        self._hovered = (i, j)
        bundle = self.state.bundle
        if i < 0 or self.source is None or bundle is None:
            for v in (self.decoded_view, self.input_view):
                v.set_outlines([])
            self.state.code_hovered.emit(-1)
            return
        influence = self.influence
        if influence is None:                              # until measured: the cell's own patch
            cfg = bundle.vqvae.config
            influence = Influence(cfg.downsample, 0, 0, 0, 0, cfg.image_size, empirical=False)
            self.influence_loader.request(bundle.vqvae)
        code = int(self.grid.codes[i, j])
        rect = influence.rect(i, j)
        text = describe_cell(self.source, i, j, code, rect)
        self.cell_info.setText(text)
        outlines = [(rect, QColor(255, 140, 0), Qt.DashLine), (influence.patch(i, j), QColor(0, 160, 255),
                                                               Qt.SolidLine)]
        for v in (self.decoded_view, self.input_view):
            v.set_outlines(outlines)
        self.state.code_hovered.emit(code)

