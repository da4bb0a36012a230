"""Image names in a ``.dlc`` file: which names are allowed, what they decompress to, how they are
stored (compressed with a standard codec), and how any text read from a file is shown in a message.

Names become file names when decompressing, so a name is accepted only if the PNG it
decompresses to (:func:`output_name`) can be created on common file systems: at most
``MAX_NAME_BYTES`` bytes of UTF-8 *after* the extension is replaced by ``.png``, no path
separators or control characters, no leading dot, not a Windows device name. What the writer
accepts, the reader accepts and decompress can write (issue 22, item 6).

Version 2 stores the names (and the class labels, if any) in one "side block": the UTF-8 JSON
object ``{"names": [...], "labels": [...]}`` compressed with raw LZMA2 or zlib from Python's
standard library, whichever is smaller (or left as it is when neither helps). Sequential names
such as ``0001_7.png`` cost about two bytes each. Decompression is bounded: the reader never
inflates more than the count of images allows, so a small block cannot expand into gigabytes.
"""
from __future__ import annotations

import json
import lzma
import zlib
from typing import Sequence

from ..safe_io import UnsafeInput, parse_json

MAX_NAME_BYTES = 255             # a file name on common file systems (the .png name included)
SIDE_CODECS = ("none", "zlib", "lzma")
# Raw LZMA2 (no container: ~60 bytes less than .xz) with a fixed 1 MiB dictionary, so the
# decoder's memory does not depend on the file.
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 1 << 20}]
_FORBIDDEN = set('/\\:\0*?"<>|')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def shown(text: object, width: int = 60) -> str:
    """Any text that came from a file, safe to put in a message: every character that is not
    printable (terminal escapes, bidi controls, newlines) is escaped as \\xNN / \\uNNNN, and the
    result is cut to ``width`` characters ("..." marks the cut). The one helper for messages that
    quote a .dlc header or an image name."""
    try:
        value = text if isinstance(text, str) else repr(text)
    except Exception:                              # a hostile __repr__ cannot happen for JSON, but be sure
        value = type(text).__name__
    value = value[:4 * width]                      # never escape megabytes only to cut them
    value = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in value)
    return value if len(value) <= width else value[:width - 3] + "..."


def output_name(name: str) -> str:
    """The PNG file an image decompresses to: its name with the extension replaced by .png."""
    stem, dot, _ext = name.rpartition(".")
    return (stem if dot and stem else name) + ".png"


def numbered_name(index: int) -> str:
    """The PNG an image of a file without names decompresses to: 000000.png, 000001.png, ..."""
    return f"{index:06d}.png"


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an image name in a .dlc file (None if it can)."""
    if not isinstance(name, str) or not name:
        return "an image name is empty or not text"
    if any(c in _FORBIDDEN or ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        return f"the image name '{shown(name)}' contains a path separator or another forbidden character"
    if len(output_name(name).encode("utf-8")) > MAX_NAME_BYTES:
        return (f"the image name '{shown(name, 40)}' is too long: it would decompress to a file name of more "
                f"than {MAX_NAME_BYTES} bytes")
    if name.startswith(".") or name != name.strip():
        return f"the image name '{shown(name)}' starts with '.' or has surrounding spaces"
    if name.split(".")[0].upper() in _RESERVED:
        return f"the image name '{shown(name)}' is a reserved device name on Windows"
    return None


def checked_names(names: Sequence[object], error: type[Exception]) -> list[str]:
    """``names`` as a list if every one is allowed and their PNGs are distinct (case-insensitively),
    else ``error`` with the first problem."""
    seen: set[str] = set()
    for name in names:
        problem = name_problem(name)
        if problem:
            raise error(problem[0].upper() + problem[1:] + ".")
        key = output_name(name).casefold()       # type: ignore[arg-type]
        if key in seen:
            raise error(f"Two images would be written as '{shown(output_name(name))}'; image names must be "
                        f"unique.")
        seen.add(key)
    return [str(n) for n in names]


def output_names(names: Sequence[str] | None, count: int) -> list[str]:
    """The PNG file of each image: from its name, or numbered when the file stores no names."""
    return [numbered_name(i) for i in range(count)] if names is None else [output_name(n) for n in names]


# --------------------------------------------------------------------------------------
# The side block (names and labels), compressed
# --------------------------------------------------------------------------------------
def pack_side(names: Sequence[str] | None, labels: Sequence[int] | None) -> tuple[str, bytes]:
    """(codec, bytes) of the side block holding ``names`` and ``labels`` (either may be None);
    ("none", b"") when there is neither."""
    if names is None and labels is None:
        return "none", b""
    side: dict = {}
    if names is not None:
        side["names"] = list(names)
    if labels is not None:
        side["labels"] = [int(x) for x in labels]
    raw = json.dumps(side, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    options = [("none", raw), ("zlib", zlib.compress(raw, 9)),
               ("lzma", lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS))]
    return min(options, key=lambda option: len(option[1]))


def side_limit(count: int) -> int:
    """The most bytes a genuine side block of ``count`` images can inflate to: each name at most
    MAX_NAME_BYTES of UTF-8, each character at most doubled by JSON escaping, plus a label."""
    return 64 + count * (2 * MAX_NAME_BYTES + 4 + 8)


def unpack_side(codec: str, data: bytes, limit: int, error: type[Exception]) -> dict:
    """The side block's JSON object, inflating at most ``limit`` bytes; ``error`` if it is corrupt
    or would inflate beyond ``limit`` (a decompression bomb)."""
    try:
        if codec == "none":
            raw = data
        elif codec == "zlib":
            inflater = zlib.decompressobj()
            raw = inflater.decompress(data, limit + 1)
            if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
                raise error("The file's name list is corrupt or larger than its image count allows.")
        elif codec == "lzma":
            inflater = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
            raw = inflater.decompress(data, limit + 1)
            if not inflater.eof or inflater.unused_data:
                raise error("The file's name list is corrupt or larger than its image count allows.")
        else:
            raise error("The file's name list uses an unknown compression.")
    except (zlib.error, lzma.LZMAError, MemoryError, ValueError, EOFError):
        raise error("The file's name list is corrupt (it does not decompress).") from None
    if len(raw) > limit:
        raise error("The file's name list is larger than its image count allows.")
    try:
        side = parse_json(raw, max_depth=2)
    except UnsafeInput as exc:
        raise error(f"The file's name list is not valid ({shown(exc, 80)}).") from None
    if not isinstance(side, dict) or set(side) - {"names", "labels"}:
        raise error("The file's name list is not valid.")
    return side
