"""File formats behind the datasets: IDX files (MNIST family), CIFAR-10 batches, folders of images.

Every reader treats its input as untrusted: nothing here executes code from a file, sizes are
checked against what the file announces, and a truncated or corrupt file raises `DataError`
with the file's path in the message instead of crashing.
"""
from __future__ import annotations

import gzip
import math
import os
import pickle
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np


class DataError(Exception):
    """A dataset could not be loaded; the message says what to do."""


# ----------------------------------------------------------------------------------------- IDX

IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_IDX_BYTES = 1 << 31          # refuse headers announcing more than 2 GiB of data
_READ_CHUNK = 1 << 24            # read payloads in 16 MiB pieces (a lying header cannot force a huge allocation)


def _open_maybe_gzip(path: Path) -> BinaryIO:
    """Open `path` for reading; transparently decompress it when it starts with the gzip magic."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _read_exactly(stream: BinaryIO, n_bytes: int) -> bytes:
    """Read up to `n_bytes` in chunks; returns fewer bytes only when the stream ends early."""
    parts: list[bytes] = []
    remaining = n_bytes
    while remaining > 0:
        part = stream.read(min(remaining, _READ_CHUNK))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a native-endian NumPy array.

    Layout: two zero bytes, a type code (0x08 ubyte ... 0x0E double), the number of dimensions,
    then one big-endian uint32 per dimension, then the values in C order. The header, the
    payload length and the absence of trailing bytes are all checked.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as stream:
            header = stream.read(4)
            if len(header) < 4:
                raise DataError(f"{path}: truncated IDX file (shorter than its 4-byte header).")
            if header[0] != 0 or header[1] != 0 or header[2] not in IDX_DTYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number {header.hex()}).")
            ndim = header[3]
            if not 1 <= ndim <= 8:
                raise DataError(f"{path}: corrupt IDX header ({ndim} dimensions).")
            dims_raw = stream.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX file (header cut short).")
            dims = struct.unpack(f">{ndim}I", dims_raw)
            dtype = np.dtype(IDX_DTYPES[header[2]])
            n_bytes = math.prod(dims) * dtype.itemsize
            if n_bytes > MAX_IDX_BYTES:
                raise DataError(f"{path}: IDX header announces {n_bytes} bytes of data; refusing (corrupt file?).")
            payload = _read_exactly(stream, n_bytes)
            if len(payload) < n_bytes:
                raise DataError(f"{path}: truncated IDX file: {len(payload)} of the {n_bytes} data bytes "
                                f"its header announces. Re-download or re-copy the file.")
            if stream.read(1):
                raise DataError(f"{path}: corrupt IDX file: more data than its header announces {tuple(dims)}.")
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found.") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: unreadable or corrupt ({exc}). Re-download or re-copy the file.") from None
    array = np.frombuffer(payload, dtype=dtype).reshape(dims)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------------- CIFAR-10

CIFAR_IMAGE_BYTES = 3 * 32 * 32
MAX_PICKLE_BYTES = 1 << 29       # a CIFAR-10 batch is ~30 MB; refuse anything above 512 MiB


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """The only use of `_codecs.encode` in Python 3 protocol-2 pickles: bytes stored as latin-1 text."""
    if not isinstance(text, str) or encoding.lower().replace("-", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _safe_globals() -> dict[tuple[str, str], Any]:
    """The few callables a pickled CIFAR batch (a dict of arrays, lists and strings) may reference."""
    reconstruct = np.zeros(0).__reduce__()[0]          # numpy.(_)core.multiarray._reconstruct
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]       # numpy.(_)core.numeric._frombuffer (protocol 5)
    scalar = np.uint8(0).__reduce__()[0]               # numpy.(_)core.multiarray.scalar
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                           ("_codecs", "encode"): _latin1_encode}
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    for module in ("builtins", "__builtin__"):
        for container in (list, dict, tuple, set, frozenset):
            allowed[(module, container.__name__)] = container
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and builtin containers and nothing else.

    Any other global (os.system, builtins.eval, subprocess.Popen, ...) is refused before it is
    imported, so a hostile file cannot run code.
    """

    _allowed: dict[tuple[str, str], Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if RestrictedUnpickler._allowed is None:
            RestrictedUnpickler._allowed = _safe_globals()
        found = RestrictedUnpickler._allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refused to load '{module}.{name}' (not allowed in a CIFAR batch)")
        return found


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch safely: images uint8 (n, 3, 32, 32) and labels int64 (n,)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PICKLE_BYTES:
            raise DataError(f"{path}: too large for a CIFAR-10 batch; refusing to read it.")
        with open(path, "rb") as stream:
            batch = RestrictedUnpickler(stream, encoding="latin1").load()
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found.") from None
    except pickle.UnpicklingError as exc:
        raise DataError(f"{path}: not a valid CIFAR-10 batch: {exc}.") from None
    except Exception as exc:  # any corruption: EOFError, ValueError, struct.error, MemoryError, ...
        raise DataError(f"{path}: corrupt CIFAR-10 batch ({type(exc).__name__}: {exc}).") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a CIFAR-10 batch (expected a dict, found {type(batch).__name__}).")
    entries = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    data, labels = entries.get("data"), entries.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != CIFAR_IMAGE_BYTES:
        raise DataError(f"{path}: CIFAR-10 batch without a uint8 'data' array of shape (n, {CIFAR_IMAGE_BYTES}).")
    try:
        label_array = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: CIFAR-10 batch 'labels' is not a list of integers.") from None
    if label_array.shape != (data.shape[0],):
        raise DataError(f"{path}: CIFAR-10 batch has {data.shape[0]} images but labels of shape {label_array.shape}.")
    return data.reshape(-1, 3, 32, 32), label_array


# ------------------------------------------------------------------------------ image folders

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass
class FolderListing:
    """Image files of a folder dataset, in pool order, with their labels."""
    files: list[Path] = field(default_factory=list)   # top-level files first, then class folders in name order
    labels: list[int] = field(default_factory=list)   # -1 for top-level files, else the class folder's index
    class_names: tuple[str, ...] = ()                 # class folder names (only folders holding images)


def _images_below(folder: Path) -> list[Path]:
    """Image files anywhere below `folder` (hidden entries skipped, symlinked folders not followed), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath) / f for f in filenames
                  if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def list_image_folder(root: Path) -> FolderListing:
    """List a folder dataset: files directly in `root` get label -1, each subfolder is a class."""
    if not root.is_dir():
        raise DataError(f"Image folder {root} does not exist or is not a folder.")
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise DataError(f"Cannot list image folder {root}: {exc}") from None
    listing = FolderListing()
    for entry in entries:
        if entry.is_file() and not entry.name.startswith(".") and entry.name.lower().endswith(IMAGE_EXTENSIONS):
            listing.files.append(entry)
            listing.labels.append(-1)
    names: list[str] = []
    for entry in entries:
        if entry.is_dir() and not entry.name.startswith("."):
            files = _images_below(entry)
            if files:
                listing.files += files
                listing.labels += [len(names)] * len(files)
                names.append(entry.name)
    listing.class_names = tuple(names)
    if not listing.files:
        raise DataError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in {root} or its subfolders.")
    return listing


def _to_uint8_array(image: Any) -> np.ndarray:
    """A PIL image as uint8 (H, W) when its content is gray, else (H, W, 3)."""
    mode = image.mode
    if mode.startswith(("I", "F")):        # 16/32-bit integer or float pixels
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or (mode == "I" and values.size and values.max() > 255):
            values = values / 257.0            # 16-bit range -> 8-bit
        return np.clip(values, 0, 255).round().astype(np.uint8)
    if mode in ("1", "L", "LA"):
        return np.asarray(image.convert("L"), dtype=np.uint8)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return rgb[..., 0].copy()          # colour file holding a gray picture
    return rgb


def read_image_files(files: Sequence[Path], image_size: int | None = None, grayscale: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Read image files into uint8 (N, C, H, W).

    C is 1 when `grayscale` is set or every image is gray, else 3 (gray images are repeated).
    Without `image_size` all images must already share one size.
    """
    from PIL import Image  # Pillow ships with torchvision

    arrays: list[np.ndarray] = []
    first_size: tuple[int, int] | None = None
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                array = _to_uint8_array(image)
            if grayscale and array.ndim == 3:
                array = np.asarray(Image.fromarray(array).convert("L"), dtype=np.uint8)
            if image_size is not None and array.shape[:2] != (image_size, image_size):
                resized = Image.fromarray(array).resize((image_size, image_size), Image.Resampling.BILINEAR)
                array = np.asarray(resized, dtype=np.uint8)
        except Exception as exc:  # PIL raises many kinds: UnidentifiedImageError, OSError, DecompressionBombError...
            raise DataError(f"Could not read image {path}: {exc}") from None
        if first_size is None:
            first_size = array.shape[:2]
        elif array.shape[:2] != first_size:
            raise DataError(f"Images have different sizes ({files[0].name} is {first_size[1]}x{first_size[0]}, "
                            f"{path.name} is {array.shape[1]}x{array.shape[0]}): set image_size to resize "
                            f"them all to one square size.")
        arrays.append(array)
        if progress is not None:
            progress(i + 1, len(files))
    colour = not grayscale and any(a.ndim == 3 for a in arrays)
    channels = [np.repeat(a[..., None], 3, axis=2) if colour and a.ndim == 2 else
                (a if a.ndim == 3 else a[..., None]) for a in arrays]
    return np.ascontiguousarray(np.stack(channels).transpose(0, 3, 1, 2))
