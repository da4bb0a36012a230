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

from ..safe_io import describe_error, is_regular_file
from .errors import DataError
from .images import read_image_file


# ----------------------------------------------------------------------------------------- IDX

IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_IDX_BYTES = 1 << 27          # 128 MiB: the MNIST family needs 47 MB; refuse headers announcing more
MAX_GZIP_RATIO = 1100            # deflate cannot expand more than ~1032x: a header announcing more lies
_READ_CHUNK = 1 << 20            # read payloads in 1 MiB pieces straight into the one output buffer


class _GzipClosingFile(gzip.GzipFile):
    """A GzipFile over an open file that also closes that file."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self.raw_file = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.raw_file.close()


def _open_maybe_gzip(path: Path) -> BinaryIO:
    """Open `path` (a regular file only) for reading; transparently decompress it when it starts
    with the gzip magic."""
    from ..safe_io import UnsafeInput, open_regular_file
    try:
        raw = open_regular_file(path)
    except UnsafeInput as exc:
        raise DataError(f"{path}: {exc}.") from None
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return _GzipClosingFile(raw)  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _read_into(stream: BinaryIO, buffer: np.ndarray) -> int:
    """Fill the uint8 ``buffer`` from ``stream`` chunk by chunk; the number of bytes read (fewer
    only when the stream ends early). The buffer's pages are touched only as data arrive."""
    view, done = memoryview(buffer), 0
    while done < len(buffer):
        got = stream.readinto(view[done:done + _READ_CHUNK])  # type: ignore[attr-defined]
        if not got:
            break
        done += got
    return done


def read_idx(path: str | os.PathLike[str],
             check: Callable[[np.dtype, tuple[int, ...]], None] | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a native-endian NumPy array.

    Layout: two zero bytes, a type code (0x08 ubyte ... 0x0E double), the number of dimensions,
    then one big-endian uint32 per dimension, then the values in C order. The header, the
    payload length and the absence of trailing bytes are all checked.

    Decompression is bounded before anything is allocated: the header's shape (passed to
    ``check(dtype, dims)``, which raises DataError to refuse it) fixes how many bytes are read,
    at most MAX_IDX_BYTES, and never more than deflate could expand the file's compressed size
    to; one buffer of exactly that size is filled as the data stream in (no second copy).
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
            if check is not None:
                check(dtype, tuple(dims))
            n_bytes = math.prod(dims) * dtype.itemsize
            if n_bytes > MAX_IDX_BYTES:
                raise DataError(f"{path}: IDX header announces {n_bytes:,} bytes of data, more than the "
                                f"{MAX_IDX_BYTES:,} allowed; refusing (corrupt file?).")
            if isinstance(stream, _GzipClosingFile):
                packed = os.fstat(stream.raw_file.fileno()).st_size
                if n_bytes > packed * MAX_GZIP_RATIO:
                    raise DataError(f"{path}: IDX header announces {n_bytes:,} bytes of data, more than "
                                    f"{packed:,} compressed bytes can hold; refusing (corrupt file?).")
            payload = np.empty(n_bytes, dtype=np.uint8)
            got = _read_into(stream, payload)
            if got < n_bytes:
                raise DataError(f"{path}: truncated IDX file: {got} of the {n_bytes} data bytes "
                                f"its header announces. Re-download or re-copy the file.")
            if stream.read(1):
                raise DataError(f"{path}: corrupt IDX file: more data than its header announces {tuple(dims)}.")
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found.") from None
    except MemoryError:
        raise DataError(f"{path}: too large to load.") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: unreadable or corrupt ({exc}). Re-download or re-copy the file.") from None
    array = payload.view(dtype).reshape(dims)
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
    from ..safe_io import UnsafeInput, open_regular_file
    try:
        try:
            stream = open_regular_file(path)                # never a FIFO or device (would block or never end)
        except UnsafeInput as exc:
            raise DataError(f"{path}: {exc}.") from None
        with stream:
            if os.fstat(stream.fileno()).st_size > MAX_PICKLE_BYTES:
                raise DataError(f"{path}: too large for a CIFAR-10 batch; refusing to read it.")
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
                  if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
                  and is_regular_file(Path(dirpath) / f)]         # never a FIFO or device (would block)
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
        if not entry.name.startswith(".") and entry.name.lower().endswith(IMAGE_EXTENSIONS) \
                and is_regular_file(entry):
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
        array = read_image_file(path)              # formats allow-list, size check, regular files only
        try:
            if grayscale and array.ndim == 3:
                array = np.asarray(Image.fromarray(array).convert("L"), dtype=np.uint8)
            if image_size is not None and array.shape[:2] != (image_size, image_size):
                resized = Image.fromarray(array).resize((image_size, image_size), Image.Resampling.BILINEAR)
                array = np.asarray(resized, dtype=np.uint8)
        except Exception as exc:  # resizing a decoded uint8 array: only MemoryError is expected
            raise DataError(f"Could not convert image {path}: {describe_error(exc, 100)}") from None
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
