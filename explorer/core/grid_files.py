"""Code grid files (.npy or .json) for the latent editor: save atomically, load untrusted files
safely. A grid is an h x w array of code indices in [0, K) (notes, "VQ-VAE": z_ij = argmin_k
||z_e(x)_ij - e_k||); a file that does not fit the loaded model (K, grid shape) is refused.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import describe_value
from .safe_io import (UnsafeInput, UnsafeOutput, describe_error, npy_from_bytes, parse_json, printable_name,
                      read_regular_file, write_file_atomically)

MAX_GRID_FILE_BYTES = 4 * 1024 * 1024


class GridFileError(Exception):
    """A grid file is unreadable, corrupt, or does not fit the loaded model."""


def check_codes(codes: np.ndarray, num_codes: int, shape: tuple[int, int] | None) -> None:
    """Raise GridFileError unless ``codes`` is a 2-D integer grid in [0, K) of ``shape``."""
    if codes.ndim != 2:
        raise GridFileError(f"A code grid must be 2-D; this one has shape {codes.shape}.")
    if shape is not None and tuple(codes.shape) != tuple(shape):
        raise GridFileError(f"The grid is {codes.shape[0]}x{codes.shape[1]} but this model uses "
                            f"{shape[0]}x{shape[1]} grids.")
    if codes.size and (int(codes.min()) < 0 or int(codes.max()) >= num_codes):
        bad = int(codes.max()) if int(codes.max()) >= num_codes else int(codes.min())
        raise GridFileError(f"The grid holds code {bad}, but this model only has codes 0..{num_codes - 1} "
                            f"(K = {num_codes}).")


def save_grid(path: str | Path, codes: np.ndarray, num_codes: int) -> None:
    """Write a grid as .npy (int64 array) or .json ({"num_codes": K, "codes": [[...]]}), atomically."""
    path = Path(path)
    codes = np.asarray(codes, dtype=np.int64)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".json"):
        raise GridFileError(f"Save grids as .npy or .json, not {path.suffix or 'a file without extension'}.")
    def write(f) -> None:
        if suffix == ".npy":
            np.save(f, codes, allow_pickle=False)
        else:
            f.write(json.dumps({"num_codes": int(num_codes), "codes": codes.tolist()}).encode("utf-8"))
    try:                        # never over a FIFO, device or symlink; a new file honours the umask
        write_file_atomically(path, write)
    except UnsafeOutput as exc:
        raise GridFileError(f"{exc}.") from None


MAX_GRID_SIDE = 4096                # rows or columns a grid file may claim


def load_grid(path: str | Path, num_codes: int, shape: tuple[int, int]) -> np.ndarray:
    """Read a .npy or .json grid and check it against the model (K and grid shape).

    Never runs code from the file (no pickle), reads at most MAX_GRID_FILE_BYTES from regular
    files only (a FIFO or /dev/zero is refused without blocking), checks a .npy header's shape
    before reading its data; every problem is a GridFileError (and nothing else) with a
    message a user can act on.
    """
    try:
        return _load_grid(Path(path), num_codes, shape)
    except GridFileError:
        raise
    except MemoryError:
        raise GridFileError(f"{_name(path)} is too large to be a code grid.") from None
    except Exception as exc:  # a safety net: the editor never shows a raw Python error
        raise GridFileError(f"{_name(path)} is not a readable grid file ({describe_error(exc, 100)}).") from None


def _name(path: object) -> str:
    return printable_name(path)


def _load_grid(path: Path, num_codes: int, shape: tuple[int, int]) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".json"):
        raise GridFileError(f"{_name(path)}: grid files are .npy or .json.")
    try:
        raw = read_regular_file(path, MAX_GRID_FILE_BYTES)
    except UnsafeInput as exc:
        raise GridFileError(f"Cannot load {_name(path)}: {exc}.") from None
    try:
        arr = _npy_grid(raw) if suffix == ".npy" else _json_grid(raw, shape)
    except UnsafeInput as exc:
        raise GridFileError(f"{_name(path)} is not a readable grid file ({exc}).") from None
    arr = arr.astype(np.int64)
    check_codes(arr, num_codes, shape)
    return arr


def _npy_grid(raw: bytes) -> np.ndarray:
    def check(dtype: np.dtype, dims: tuple[int, ...]) -> None:
        if dtype.kind not in "iu" or dtype.itemsize > 8:
            raise UnsafeInput(f"it holds {dtype} values, not whole-number code indices")
        if len(dims) != 2:
            raise UnsafeInput(f"a code grid must be 2-D; this one has shape {dims}")
        if max(dims) > MAX_GRID_SIDE:
            raise UnsafeInput(f"its shape {dims} is far larger than any code grid")
    arr = npy_from_bytes(raw, check, MAX_GRID_FILE_BYTES)
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise UnsafeInput("it holds codes beyond any codebook")
    return arr


def _json_grid(raw: bytes, shape: tuple[int, int]) -> np.ndarray:
    data = parse_json(raw, max_depth=None)           # the structure is checked below
    if isinstance(data, dict):
        data = data.get("codes")
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise UnsafeInput("expected a list of rows of codes, or {\"codes\": [[...], ...]}")
    if len(data) > MAX_GRID_SIDE or any(len(row) != len(data[0]) for row in data) \
            or (data and len(data[0]) > MAX_GRID_SIDE):
        raise UnsafeInput("its rows have different lengths or are far longer than any code grid")
    if data and (len(data), len(data[0])) != tuple(shape):    # before looking at every value
        check_codes(np.zeros((len(data), len(data[0])), dtype=np.int8), 1, shape)
    for row in data:
        for value in row:
            if isinstance(value, bool) or not isinstance(value, int):
                raise UnsafeInput(f"it holds {describe_value(value)}, not a whole-number code index")
            if not -(1 << 62) < value < 1 << 62:
                raise UnsafeInput(f"it holds code {describe_value(value)}, beyond any codebook")
    return np.array(data, dtype=np.int64).reshape(len(data), len(data[0]) if data else 0)
