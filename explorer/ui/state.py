"""The Qt-side model of the application: which bundle is loaded, and its live weights.

Panels never own models. They hold an :class:`AppState`, read ``state.bundle`` in the GUI
thread, and listen to its signals:

* ``bundle_changed``: a different bundle (K, D or grid size may differ): rebuild views.
* ``weights_updated(str)``: same architecture, new weights ("vqvae" or "prior"), e.g. a
  snapshot from the training worker: refresh what is shown.

The training worker trains its own copy of the model; it sends numpy snapshots of the
weights, which :meth:`AppState.apply_snapshot` copies into the display model here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from explorer.core.bundle import Bundle


@dataclass(frozen=True)
class GridRequest:
    """A grid another panel wants the latent editor to open (numpy copies, never live tensors)."""
    codes: np.ndarray            # int64 (h, w)
    label: str                   # shown as the editor's source, e.g. "sample 3 (seed 0)"
    image: np.ndarray | None     # float32 (C, H, W) in [0, 1], or None for a bare grid
    kind: str                    # "sample", "image" or "file"


class AppState(QObject):
    bundle_changed = Signal()
    weights_updated = Signal(str)     # "vqvae" or "prior"
    message = Signal(str)             # a short status-bar message
    code_selected = Signal(int)       # the code chosen for painting (codebook panel -> editor)
    code_hovered = Signal(int)        # the code under the pointer anywhere (-1 = none)
    grid_opened = Signal(object)      # a GridRequest: another panel asks the latent editor to show a grid

    def __init__(self, bundle: Bundle | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bundle: Bundle | None = None
        self.path: Path | None = None
        self.selected_code: int = 0
        if bundle is not None:
            self.set_bundle(bundle, getattr(bundle, "path", None))

    @property
    def bundle(self) -> Bundle | None:
        return self._bundle

    def set_bundle(self, bundle: Bundle | None, path: str | Path | None = None) -> None:
        """Show a different bundle (models are moved to the CPU and put in eval mode)."""
        if bundle is not None:
            bundle.vqvae.cpu().eval()
            if bundle.prior is not None:
                bundle.prior.cpu().eval()
        self._bundle = bundle
        self.path = Path(path) if path else None
        if bundle is not None and self.selected_code >= bundle.vqvae.config.num_codes:
            self.selected_code = 0
        self.bundle_changed.emit()

    def select_code(self, code: int) -> None:
        """Make ``code`` the one the latent editor paints with."""
        self.selected_code = int(code)
        self.code_selected.emit(self.selected_code)

    def open_in_editor(self, codes: np.ndarray, label: str, image: np.ndarray | None = None,
                       kind: str = "sample") -> None:
        """Ask the latent editor to show ``codes`` (int64 (h, w)) as a new, undoable source.

        ``image``: the input it was encoded from (float32 (C, H, W) in [0, 1]), if any; ``kind``
        is "sample" (drawn from a prior), "image" or "file". The main window then shows the editor.
        """
        request = GridRequest(np.array(codes, dtype=np.int64, copy=True), str(label),
                              None if image is None else np.array(image, dtype=np.float32, copy=True), kind)
        self.grid_opened.emit(request)

    def apply_snapshot(self, which: str, weights: dict[str, np.ndarray]) -> None:
        """Copy numpy weights (a training snapshot) into the display model and notify panels."""
        if self._bundle is None:
            return
        model = self._bundle.vqvae if which == "vqvae" else self._bundle.prior
        if model is None:
            return
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}
        model.load_state_dict(state, strict=True)
        model.eval()
        self.weights_updated.emit(which)


def snapshot(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """A numpy copy of a model's weights and buffers, safe to send across threads."""
    return {k: v.detach().to("cpu", copy=True).numpy() for k, v in model.state_dict().items()}
