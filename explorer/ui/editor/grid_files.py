"""Open and save code grids through file dialogs; problems become messages, never crashes."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from explorer.core.grid_files import GridFileError, load_grid, save_grid


class GridFiles(QObject):
    """``loaded(codes, name)`` after a good file, ``error(text)`` otherwise; ``saved(path)``.

    ``model`` returns (K, grid shape) of the current bundle, which every file is checked
    against (out-of-range codes, wrong shape or dtype, corrupt or pickled files).
    """

    loaded = Signal(object, str)
    saved = Signal(str)
    error = Signal(str)

    def __init__(self, parent: QWidget, model: Callable[[], tuple[int, tuple[int, int]]]) -> None:
        super().__init__(parent)
        self._parent, self._model = parent, model

    def ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent, "Load code grid", "", "Code grids (*.npy *.json)")
        if path:
            self.load(path)

    def ask_save(self, codes: np.ndarray) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent, "Save code grid", "grid.npy",
                                              "NumPy (*.npy);;JSON (*.json)")
        if path:
            self.save(path, codes)

    def load(self, path: str) -> bool:
        k, shape = self._model()
        try:
            codes = load_grid(path, k, shape)
        except GridFileError as exc:
            self.error.emit(f"Could not load the grid: {exc}")
            return False
        except Exception as exc:  # load_grid promises GridFileError only; never leave the old message up
            self.error.emit(f"Could not load the grid ({type(exc).__name__}).")
            return False
        self.loaded.emit(codes, Path(path).name)
        return True

    def save(self, path: str, codes: np.ndarray) -> bool:
        try:
            save_grid(path, codes, self._model()[0])
        except (GridFileError, OSError) as exc:
            self.error.emit(f"Could not save the grid: {exc}")
            return False
        self.saved.emit(str(path))
        return True
