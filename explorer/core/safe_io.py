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


# ------------------------------------------------------------------------------------ file kinds
def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words ('a FIFO (named pipe)', 'a folder', ...)."""
    kinds = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
             (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((text for test, text in kinds if test(mode)), "a special file")


def printable_path(path: str | os.PathLike, width: int = 200) -> str:
    """The whole of ``path`` safe to show: control characters escaped, cut to ``width``."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in os.fspath(path))
    return text if len(text) <= width else text[:width - 3] + "..."


def missing_input_message(path: str | os.PathLike, what: str = "file or folder") -> str:
    """Why ``path`` cannot be read as an input: it does not exist ('no such file or folder: P'),
    or it is a FIFO, device, socket or dangling symbolic link (said plainly, never 'no such file')."""
    shown = printable_path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"{shown} is a symbolic link to something that does not exist, not a regular {what}"
        return f"no such {what}: {shown}"
    except (OSError, ValueError) as exc:
        return f"cannot use {shown}: {_reason(exc)}"
    return f"{shown} is {file_kind(info.st_mode)}, not a regular {what}"


def open_regular_file(path: str | os.PathLike) -> IO[bytes]:
    """``path`` opened for binary reading if it is a regular file (symlinks followed); a FIFO,
    device, socket or folder is refused (UnsafeInput) without blocking."""
    name = printable_name(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except ValueError:
        raise UnsafeInput(f"cannot open {name}: the name holds a NUL character") from None
    except OSError as exc:
        raise UnsafeInput(f"cannot open {name}: {_reason(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsafeInput(f"{name} is {file_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_regular_file(path: str | os.PathLike) -> bool:
    """True for a regular file (symlinks followed); False for FIFOs, devices, folders, missing files."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


# ------------------------------------------------------------------------------------ writing files
class UnsafeOutput(OSError):
    """An output path that must not be written (a FIFO, device, symlink, folder...); the message
    says why. An OSError, so callers that already report OSError report this too."""


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)           # the portable way: set and restore (not thread-safe, rarely reached)
    os.umask(mask)
    return mask


def output_file_problem(path: str | os.PathLike) -> str | None:
    """Why a file must not be written at ``path`` (it is a folder, a FIFO, a device, a socket or a
    symbolic link, or its folder cannot hold files), or None when it can be."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):   # the parent check says which ancestor is missing or a file
        info = None
    except (OSError, ValueError) as exc:
        return f"cannot be used ({_reason(exc)})"
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = file_kind(info.st_mode)
        if stat.S_ISDIR(info.st_mode):
            return "is a folder; give a file name"
        return f"exists and is {kind}, not a regular file; refusing to replace it"
    return parent_folder_problem(path)


def write_file_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file through ``write(binary file)`` atomically: into a temporary file beside
    ``path``, synced, then renamed over it. Never replaces anything but a regular file
    (UnsafeOutput for a FIFO, device, socket, symlink or folder, checked before and again at the
    moment of the rename). A new file gets ``0o666 & ~umask``; a replaced file keeps its mode."""
    import tempfile

    path = Path(path)
    problem = output_file_problem(path)
    if problem is not None:
        raise UnsafeOutput(f"{printable_name(path)} {problem}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            try:
                previous = os.lstat(path)
                mode = stat.S_IMODE(previous.st_mode) if stat.S_ISREG(previous.st_mode) else None
            except FileNotFoundError:
                mode = None
            os.fchmod(out.fileno(), 0o666 & ~current_umask() if mode is None else mode)
            os.fsync(out.fileno())
        problem = output_file_problem(path)        # again: something may have appeared meanwhile
        if problem is not None:
            raise UnsafeOutput(f"{printable_name(path)} {problem}")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# --------------------------------------------------------------------------------- zip directories
def zip_directory_problem(data: bytes, max_entries: int, max_directory_bytes: int = 1 << 16) -> str | None:
    """Why a zip archive's central directory is refused before ``zipfile`` parses it, or None.

    ``zipfile`` walks as many bytes of directory as the end record (or its zip64 record) says,
    whatever entry count the record claims; so the directory's size is bounded first, then its
    entries are counted as they really are (at most ``max_directory_bytes`` of walking)."""
    at = len(data) - 22                              # where zipfile looks first (no comment)
    if at < 0 or data[at:at + 4] != b"PK\x05\x06" or data[-2:] != b"\x00\x00":
        at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if at < 0 or at + 22 > len(data):
        return "it is not a zip archive (no end record)"
    declared = int.from_bytes(data[at + 10:at + 12], "little")
    directory_bytes = int.from_bytes(data[at + 12:at + 16], "little")
    directory_end = at
    locator = at - 20
    if locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
        record = locator - 56                        # zipfile reads it right before the locator
        if record < 0 or data[record:record + 4] != b"PK\x06\x06":
            return "its zip64 end record is corrupt"
        declared = int.from_bytes(data[record + 32:record + 40], "little")
        directory_bytes = int.from_bytes(data[record + 40:record + 48], "little")
        directory_end = record
    if declared > max_entries:
        return f"it declares {declared} entries (at most {max_entries} expected)"
    if directory_bytes > max_directory_bytes:
        return f"its directory takes {directory_bytes:,} bytes (at most {max_directory_bytes:,} expected)"
    start = directory_end - directory_bytes
    if start < 0:
        return "its directory lies outside the file"
    entries, offset, end = 0, start, directory_end
    while offset < end:
        if data[offset:offset + 4] != b"PK\x01\x02" or offset + 46 > end:
            return "its directory is corrupt"
        entries += 1
        if entries > max_entries:
            return f"it holds more than {max_entries} entries"
        name_len, extra_len, comment_len = (int.from_bytes(data[offset + i:offset + i + 2], "little")
                                            for i in (28, 30, 32))
        offset += 46 + name_len + extra_len + comment_len
    return None
