"""Reading untrusted files without hanging, blowing up memory or leaking odd exceptions.

Every reader here raises :class:`UnsafeInput` (with a plain message) and nothing else for bad
input; callers turn it into their own error type (BundleError, GridFileError).

* :func:`read_regular_file`: at most ``max_bytes`` from a regular file. A FIFO, a device such
  as ``/dev/zero`` (also behind a symlink) or a folder is refused before anything is read, and
  opening never blocks (``O_NONBLOCK``).
* :func:`parse_json`: strict UTF-8 JSON with bounded nesting and number sizes.
* :func:`read_npy`: a ``.npy`` array whose header (dtype, shape) is checked before its data are
  read, so a header claiming a huge shape costs nothing. Never unpickles.
"""
from __future__ import annotations

import io
import json
import math
import os
import stat
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

MAX_JSON_DEPTH = 128         # nesting of objects and arrays a JSON file may have


class UnsafeInput(Exception):
    """A file or value that cannot be read safely; the message says why in plain words."""


def parent_folder_problem(path: str | os.PathLike) -> str | None:
    """Why nothing can be created at ``path`` (its nearest existing ancestor is a file, or a folder
    that is not writable), or None when it can. The message names that ancestor."""
    parent = Path(path).absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the folder {parent} is not writable"
    return None


def printable_name(path: str | os.PathLike, width: int = 80) -> str:
    """The file name of ``path`` safe to show: control characters escaped, cut to ``width``."""
    try:
        name = Path(path).name
    except (TypeError, ValueError):
        name = str(path)
    name = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
    return name if len(name) <= width else name[:width - 3] + "..."


def read_regular_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file (symlinks followed) of at most ``max_bytes``."""
    name = printable_name(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except ValueError:                              # a NUL byte in the name
        raise UnsafeInput(f"cannot open {name}: the name holds a NUL character") from None
    except OSError as exc:
        raise UnsafeInput(f"cannot open {name}: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeInput(f"{name} is not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeInput(f"{name} is {info.st_size:,} bytes, more than the {max_bytes:,} allowed")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:                        # the file grew while being read
            raise UnsafeInput(f"{name} is more than the {max_bytes:,} bytes allowed")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeInput(f"cannot read {name}: {_reason(exc)}") from None
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def parse_json(data: bytes, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    """Parse UTF-8 JSON; UnsafeInput for invalid text or nesting deeper than ``max_depth``.

    Integer literals beyond Python's digit limit are refused by json itself; float literals
    beyond the float range become inf (the config checks refuse them where a finite number is
    needed). ``max_depth=None`` skips the nesting check (the caller checks the structure).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsafeInput(f"not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnsafeInput(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise UnsafeInput(f"nested too deeply (at most {max_depth or MAX_JSON_DEPTH} levels allowed)") from None
    except (ValueError, OverflowError) as exc:            # e.g. an integer of more than 4300 digits
        raise UnsafeInput(f"not valid JSON ({describe_error(exc)})") from None
    if max_depth is not None and too_deep(value, max_depth):
        raise UnsafeInput(f"nested more than {max_depth} levels deep")
    return value


_CONTAINERS = (list, dict)


def too_deep(value: Any, max_depth: int) -> bool:
    """Whether lists and dicts nest deeper than ``max_depth`` (level by level: no recursion)."""
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        deeper: list = []
        for item in level:
            deeper += [c for c in (item.values() if type(item) is dict else item) if type(c) in _CONTAINERS]
        level = deeper
    return False


def describe_error(exc: BaseException, width: int = 120) -> str:
    """``Type: message`` cut to ``width`` characters (for wrapping unexpected errors)."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    text = "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))
    return text if len(text) <= width else text[:width - 3] + "..."


def read_npy(stream: IO[bytes], check: Callable[[np.dtype, tuple[int, ...]], None], max_bytes: int) -> np.ndarray:
    """One array from a ``.npy`` stream; ``check(dtype, shape)`` raises UnsafeInput to refuse it.

    The header is read with numpy's own bounded parser; the data are read only once the
    header's dtype and shape passed ``check`` and fit in ``max_bytes``.
    """
    import warnings

    from numpy.lib import format as npy_format
    try:
        with warnings.catch_warnings():             # numpy warns about Python 2 style headers
            warnings.simplefilter("ignore")
            version = npy_format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
            else:
                raise UnsafeInput(f".npy format version {version} is unknown")
    except UnsafeInput:
        raise
    except Exception as exc:  # numpy raises ValueError, SyntaxError, TokenError... for bad headers
        raise UnsafeInput(f"not a valid .npy array ({describe_error(exc, 80)})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafeInput("the array holds Python objects or records, which are never loaded")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise UnsafeInput(f"the array header has an invalid shape {shape!r}")
    check(dtype, tuple(shape))
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes > max_bytes:
        raise UnsafeInput(f"the array would take {n_bytes:,} bytes, more than the {max_bytes:,} allowed")
    try:
        data = stream.read(n_bytes)
        extra = stream.read(1)
    except Exception as exc:  # zlib.error, BadZipFile (CRC), OSError...
        raise UnsafeInput(f"the array data are corrupt ({describe_error(exc, 80)})") from None
    if len(data) != n_bytes:
        raise UnsafeInput(f"the array data are truncated ({len(data)} of {n_bytes} bytes)")
    if extra:
        raise UnsafeInput("the file has data after the array")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def zip_member_count(data: bytes) -> int | None:
    """Entries a zip archive declares in its end-of-central-directory record (None if there is none).

    Read before ``zipfile`` parses the directory, so an archive of a million empty entries is
    refused in microseconds. 0xFFFF means "see the zip64 record": treated as too many.
    """
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if at < 0 or at + 22 > len(data):
        return None
    return int.from_bytes(data[at + 10:at + 12], "little")


def npy_from_bytes(data: bytes, check: Callable[[np.dtype, tuple[int, ...]], None], max_bytes: int) -> np.ndarray:
    """:func:`read_npy` on bytes already read."""
    return read_npy(io.BytesIO(data), check, max_bytes)
