"""Qt-free model of an editable code grid, its undoable edits and influence maps (grid files: grid_files.py).

A VQ-VAE turns an image into an h x w grid of code indices, one per cell:
z_{i,j} = argmin_k ||z_e(x)_{i,j} - e_k||_2 (notes, "VQ-VAE", nearest-neighbour assignment),
and decodes any such grid: x_hat = D(e_{z}). Editing the grid and decoding it again shows
what each code means in context. Every edit is a :class:`GridEdit` (cells, values before,
values after) that can be applied and reverted exactly, which is what an undo stack needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .grid_files import check_codes

# -- regions and edits ----------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """An inclusive rectangle of cells: rows top..bottom, columns left..right."""
    top: int
    left: int
    bottom: int
    right: int

    @staticmethod
    def spanning(a: tuple[int, int], b: tuple[int, int]) -> "Region":
        """The rectangle with corner cells ``a`` and ``b`` (row, col), in any order."""
        return Region(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))

    def clipped(self, h: int, w: int) -> "Region":
        return Region(max(0, self.top), max(0, self.left), min(h - 1, self.bottom), min(w - 1, self.right))

    def mask(self, h: int, w: int) -> np.ndarray:
        """Bool (h, w), True inside the region."""
        m = np.zeros((h, w), dtype=bool)
        r = self.clipped(h, w)
        m[r.top:r.bottom + 1, r.left:r.right + 1] = True
        return m

    @property
    def size(self) -> int:
        return max(0, self.bottom - self.top + 1) * max(0, self.right - self.left + 1)


@dataclass
class GridEdit:
    """Some cells changed: (rows[n], cols[n]) went from ``before[n]`` to ``after[n]``."""
    rows: np.ndarray
    cols: np.ndarray
    before: np.ndarray
    after: np.ndarray
    label: str = "edit"

    @staticmethod
    def between(old: np.ndarray, new: np.ndarray, label: str) -> "GridEdit":
        """The edit turning grid ``old`` into grid ``new`` (only the cells that differ)."""
        rows, cols = np.nonzero(old != new)
        return GridEdit(rows, cols, old[rows, cols].copy(), new[rows, cols].copy(), label)

    def __len__(self) -> int:
        return int(len(self.rows))


class LatentGrid:
    """The grid being edited, the grid it started from, and listeners for changes.

    ``codes`` is int64 (h, w) with values in [0, K). Views subscribe with
    :meth:`add_listener`; every change calls them with no arguments.
    """

    def __init__(self, num_codes: int, shape: tuple[int, int]) -> None:
        self.num_codes = int(num_codes)
        self.codes = np.zeros(shape, dtype=np.int64)
        self.original = self.codes.copy()
        self._listeners: list[Callable[[], None]] = []

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.codes.shape)  # type: ignore[return-value]

    def add_listener(self, fn: Callable[[], None]) -> None:
        self._listeners.append(fn)

    def _changed(self) -> None:
        for fn in list(self._listeners):
            fn()

    def load(self, codes: np.ndarray, num_codes: int | None = None, original: np.ndarray | None = None) -> None:
        """Show a new grid; ``original`` (default: the same grid) is what Reset returns to."""
        if num_codes is not None:
            self.num_codes = int(num_codes)
        codes = np.asarray(codes, dtype=np.int64)
        original = codes if original is None else np.asarray(original, dtype=np.int64)
        check_codes(codes, self.num_codes, None)
        check_codes(original, self.num_codes, codes.shape)
        self.codes = codes.copy()
        self.original = original.copy()
        self._changed()

    def apply(self, edit: GridEdit) -> None:
        self.codes[edit.rows, edit.cols] = edit.after
        self._changed()

    def revert(self, edit: GridEdit) -> None:
        self.codes[edit.rows, edit.cols] = edit.before
        self._changed()

    # -- edit builders (they do not change the grid; apply the result) ----------------------
    def paint(self, cells: list[tuple[int, int]], code: int) -> GridEdit:
        """Set every cell in ``cells`` to ``code`` (a brush stroke)."""
        self._check_code(code)
        uniq = sorted(set((int(i), int(j)) for i, j in cells))
        rows = np.array([c[0] for c in uniq], dtype=np.int64)
        cols = np.array([c[1] for c in uniq], dtype=np.int64)
        before = self.codes[rows, cols].copy()
        return GridEdit(rows, cols, before, np.full(len(rows), code, dtype=np.int64), f"paint {code}")

    def replace_all(self, old_code: int, new_code: int) -> GridEdit:
        """Every cell holding ``old_code`` gets ``new_code``; other cells untouched."""
        self._check_code(old_code)
        self._check_code(new_code)
        new = np.where(self.codes == old_code, new_code, self.codes)
        return GridEdit.between(self.codes, new, f"replace {old_code} -> {new_code}")

    def randomise(self, region: Region, rng: np.random.Generator) -> GridEdit:
        """Uniformly random codes inside ``region``."""
        m = region.mask(*self.shape)
        new = self.codes.copy()
        new[m] = rng.integers(0, self.num_codes, size=int(m.sum()))
        return GridEdit.between(self.codes, new, "randomise region")

    def reset(self) -> GridEdit:
        """Back to the grid the source gave (undoable)."""
        return GridEdit.between(self.codes, self.original, "reset")

    def replace_with(self, new: np.ndarray, label: str) -> GridEdit:
        """The edit that turns the current grid into ``new``."""
        new = np.asarray(new, dtype=np.int64)
        check_codes(new, self.num_codes, self.shape)
        return GridEdit.between(self.codes, new, label)

    def _check_code(self, code: int) -> None:
        if not 0 <= int(code) < self.num_codes:
            raise ValueError(f"code {code} is outside 0..{self.num_codes - 1}")


# -- sampling and inpainting with the prior ------------------------------------------------
class PriorUseError(ValueError):
    """The prior cannot draw this grid (no class chosen, a grid of another size): a plain message."""


def prior_num_classes(prior) -> int:
    """C for a class-conditional prior p(z | c) with c in 0..C-1; 0 for an unconditional one."""
    return int(getattr(getattr(prior, "config", None), "num_classes", 0) or 0)


def prior_label(prior, label: int | None) -> int | None:
    """The class to condition on: ``label`` for a class-conditional prior (it must be one of its
    classes), None for an unconditional prior (which ignores any class)."""
    num_classes = prior_num_classes(prior)
    if num_classes == 0:
        return None
    if label is None or not 0 <= int(label) < num_classes:
        raise PriorUseError(f"This prior draws one of {num_classes} classes: choose which class to draw first.")
    return int(label)


def _check_prior_grid(prior, shape: tuple[int, int], num_codes: int | None) -> None:
    """The prior draws grids of this shape over this codebook (K), or a PriorUseError says why not."""
    config = getattr(prior, "config", None)
    prior_shape = (getattr(config, "height", shape[0]), getattr(config, "width", shape[1]))
    if tuple(prior_shape) != tuple(shape):
        raise PriorUseError(f"The prior draws {prior_shape[0]}×{prior_shape[1]} grids but this model's grids are "
                            f"{shape[0]}×{shape[1]}: they do not belong together.")
    prior_codes = getattr(config, "num_codes", num_codes)
    if num_codes is not None and prior_codes != num_codes:
        raise PriorUseError(f"The prior draws codes 0..{prior_codes - 1} but this model has {num_codes} codes: "
                            "they do not belong together.")


def sample_steps(prior, shape: tuple[int, int], label: int | None = None, temperature: float = 1.0,
                 generator: torch.Generator | None = None, num_codes: int | None = None):
    """Raster steps drawing a whole new grid, z_ij ~ p(z_ij | z_<ij, c) (notes, "PixelCNN:
    Inference"); ``label`` is the class c of a class-conditional prior (ignored otherwise),
    ``num_codes`` the VQ-VAE's K the grid is for. Raises PriorUseError at once when the prior
    cannot draw it."""
    labels = prior_label(prior, label)
    _check_prior_grid(prior, shape, num_codes)
    return prior.steps(1, temperature=temperature, generator=generator, labels=labels)


def inpaint_steps(prior, codes: np.ndarray, mask: np.ndarray, temperature: float = 1.0,
                  generator: torch.Generator | None = None, label: int | None = None,
                  num_codes: int | None = None):
    """Raster steps resampling the cells where ``mask`` is True, all others kept.

    z_ij ~ p(z_ij | z_<ij, c) for (i, j) in the region; cells outside it are ``given``
    and never change (the core sampler's given/mask inpainting). ``label`` is the class c
    of a class-conditional prior (ignored for an unconditional one), ``num_codes`` the VQ-VAE's
    K the grid is for. Raises PriorUseError at once when the prior cannot redraw this grid.
    """
    labels = prior_label(prior, label)
    codes = np.asarray(codes)
    _check_prior_grid(prior, codes.shape, num_codes)
    prior_codes = getattr(getattr(prior, "config", None), "num_codes", None)
    if prior_codes is not None and codes.size and int(codes.max()) >= prior_codes:
        raise PriorUseError(f"The grid holds code {int(codes.max())} but the prior only knows codes "
                            f"0..{prior_codes - 1}: they do not belong together.")
    return prior.steps(1, temperature=temperature, generator=generator, labels=labels,
                       given=torch.as_tensor(codes, dtype=torch.long), mask=torch.as_tensor(mask))


# -- how well a cell fits its code ----------------------------------------------------------
@dataclass
class CellFit:
    """How well the source image's encoder output at one cell fits the codes."""
    nearest: int                   # argmin_k ||z_e - e_k||
    nearest_distance: float        # ||z_e - e_nearest||
    runner_up: int                 # second closest code
    runner_up_distance: float
    current_distance: float        # ||z_e - e_current|| for the code now in the cell
    is_logit: bool = False         # Gumbel models: "distance" is the negative logit


def cell_fit(distances: np.ndarray | None, i: int, j: int, current: int, is_logit: bool = False) -> CellFit | None:
    """Nearest and runner-up codes at cell (i, j) from (h, w, K) squared distances."""
    if distances is None:
        return None
    d = np.asarray(distances[i, j], dtype=np.float64)
    order = np.argsort(d, kind="stable")
    conv = (lambda v: float(v)) if is_logit else (lambda v: float(np.sqrt(max(v, 0.0))))
    second = int(order[1]) if len(order) > 1 else int(order[0])
    return CellFit(int(order[0]), conv(d[order[0]]), second, conv(d[second]), conv(d[int(current)]), is_logit)


def describe_cell(source: "SourceEncoding", i: int, j: int, code: int, rect: tuple[int, int, int, int]) -> str:
    """One sentence about cell (i, j): its code, how far z_e is from the nearest, runner-up
    and current codes (||z_e - e_k||_2, each code named once), and the pixels it can change."""
    fit = cell_fit(source.distances, i, j, code, source.is_logit)
    text = f"cell ({i}, {j}): "
    if fit is None:
        text += f"code {code}. This grid is a {source.kind} with no encoder output z_e, so there are no distances."
    else:
        unit = "−logit" if fit.is_logit else "‖z_e − e_k‖"
        if code == fit.nearest:
            text += (f"code {code}, the nearest code ({unit} = {fit.nearest_distance:.3f}); "
                     f"runner-up {fit.runner_up} = {fit.runner_up_distance:.3f}.")
        elif code == fit.runner_up:
            text += (f"code {code}, the runner-up ({unit} = {fit.runner_up_distance:.3f}); "
                     f"nearest code {fit.nearest} = {fit.nearest_distance:.3f}.")
        else:
            text += (f"code {code} ({unit} = {fit.current_distance:.3f}); nearest code {fit.nearest} = "
                     f"{fit.nearest_distance:.3f}, runner-up {fit.runner_up} = {fit.runner_up_distance:.3f}.")
    return text + f" It can change pixel rows {rect[0]}–{rect[2] - 1}, columns {rect[1]}–{rect[3] - 1} (dashed)."


@dataclass
class SourceEncoding:
    """Where the grid came from: an image with its codes and distances, or a bare grid.

    ``image`` and ``distances`` are None for grids that were sampled or loaded from a
    file: they have no encoder output z_e to compare with.
    """
    image: np.ndarray | None       # float32 (C, H, W) in [0, 1]
    codes: np.ndarray              # int64 (h, w)
    distances: np.ndarray | None = field(default=None, repr=False)   # float32 (h, w, K) ||z_e - e_k||^2
    is_logit: bool = False
    label: str = ""                # what the user sees, e.g. "example 12 (digit 7)"
    kind: str = "image"            # "image", "drawing", "sample" or "file"


@torch.no_grad()
def encode_source(vqvae, image: np.ndarray | torch.Tensor, label: str = "", kind: str = "image") -> SourceEncoding:
    """Encode one image (C, H, W) (uint8 or float in [0, 1]) with its per-cell distances."""
    x = torch.as_tensor(np.asarray(image))
    x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
    q = vqvae.quantize(x[None].to(vqvae.device), return_distances=True)
    dist = q.distances[0].float().cpu().numpy() if q.distances is not None else None
    return SourceEncoding(image=x.numpy().astype(np.float32), codes=q.indices[0].cpu().numpy().astype(np.int64),
                          distances=dist, is_logit=vqvae.config.quantizer == "gumbel", label=label, kind=kind)


class ImageBrowser:
    """Walks through an image set: previous/next/random, optionally one class only."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = np.asarray(labels)
        self.class_filter = -1
        self.index = -1

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def candidates(self) -> np.ndarray:
        """Indices allowed by the class filter (all when it is -1)."""
        if self.class_filter < 0:
            return np.arange(len(self.labels))
        return np.flatnonzero(self.labels == self.class_filter)

    def classes(self) -> list[int]:
        return sorted(int(c) for c in np.unique(self.labels) if c >= 0)

    def step(self, delta: int) -> int | None:
        """The next (delta=+1) or previous (-1) allowed index, wrapping around; None if none."""
        cand = self.candidates
        if len(cand) == 0:
            return None
        pos = np.searchsorted(cand, self.index)
        if delta > 0:
            pos = pos + 1 if pos < len(cand) and cand[pos] == self.index else pos
        else:
            pos = pos - 1
        self.index = int(cand[pos % len(cand)])
        return self.index

    def random(self, rng: np.random.Generator) -> int | None:
        cand = self.candidates
        if len(cand) == 0:
            return None
        self.index = int(rng.choice(cand))
        return self.index


def load_bundle_splits(data_config: dict):
    """The bundle's train/validation splits via ``load_data(DataConfig.from_dict(...))``.

    Slow (reads files): call it off the GUI thread. Raises DataError with a plain message
    when the bundle names no dataset or the data module cannot load it.
    """
    from . import data as data_module
    if not data_config:
        raise data_module.DataError("This bundle does not say which dataset it was trained on.")
    config_cls = getattr(data_module, "DataConfig", None)
    loader = getattr(data_module, "load_data", None)
    if config_cls is None or loader is None:
        raise data_module.DataError("Loading datasets is not available in this version.")
    try:
        return loader(config_cls.from_dict(dict(data_config)))
    except data_module.DataError:
        raise
    except Exception as exc:  # a bad config or unreadable files: report, never crash
        raise data_module.DataError(f"Could not load the dataset ({type(exc).__name__}: {exc}).") from None
