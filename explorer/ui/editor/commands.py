"""Undo-stack commands wrapping the Qt-free grid edits (one command = one undo step)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand

from explorer.core.latent_edit import GridEdit, LatentGrid, SourceEncoding


class GridEditCommand(QUndoCommand):
    """Apply a :class:`GridEdit` on redo, revert it exactly on undo.

    ``already_applied``: the edit was shown live while it was made (a paint stroke, an
    animated resample), so the first redo() that QUndoStack.push calls does nothing.
    """

    def __init__(self, grid: LatentGrid, edit: GridEdit, already_applied: bool = False) -> None:
        super().__init__(edit.label)
        self.grid, self.edit = grid, edit
        self._skip_first = already_applied

    def redo(self) -> None:
        if self._skip_first:
            self._skip_first = False
            return
        self.grid.apply(self.edit)

    def undo(self) -> None:
        self.grid.revert(self.edit)


class SourceCommand(QUndoCommand):
    """Switch to another source (image, drawing, sample, file) and back, keeping the edits."""

    def __init__(self, switch: Callable[[SourceEncoding, object], None],
                 old: tuple[SourceEncoding | None, object], new: tuple[SourceEncoding, object], label: str) -> None:
        super().__init__(label)
        self.switch, self.old, self.new = switch, old, new

    def redo(self) -> None:
        self.switch(*self.new)

    def undo(self) -> None:
        if self.old[0] is not None:
            self.switch(*self.old)
