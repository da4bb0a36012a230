"""The ``.dlc`` file: a header naming the bundle and the images, then the coded grids.

``.dlc`` files
--------------
::

    magic   8 bytes  b"\\x89DLC\\r\\n\\x1a\\n"
    version u16 LE   1
    hlen    u32 LE   length of the header
    header  hlen     UTF-8 JSON: bundle fingerprint, grid [H, W], num_codes K, count N,
                     batch, names (N), labels (N or null), payload_words, codes_crc32
    payload 4 * payload_words bytes: the range coder's 32-bit words, little-endian
    crc     u32 LE   CRC-32 of everything before it

Reading never trusts a count: the file size is checked first (at most ``MAX_FILE_BYTES``,
regular files only), every declared length against the bytes actually there, before
anything is allocated. Every way a file can be wrong raises :class:`CompressedFileError`.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Sequence

import torch

from ..safe_io import UnsafeInput, read_regular_file
from .coder import (BATCH, MAX_BATCH, MAX_IMAGES, CompressedFileError, ProgressFn, _check_codes, decode_grids,
                    encode_grids)

MAGIC = b"\x89DLC\r\n\x1a\n"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 1 << 30         # no .dlc file is read beyond 1 GiB
MAX_HEADER_BYTES = 64 << 20      # the JSON header (names) is at most 64 MiB
MAX_NAME_BYTES = 255             # a file name on common file systems
_PREFIX = struct.Struct("<8sHI")  # magic, version, header length
_CRC = struct.Struct("<I")


# --------------------------------------------------------------------------------------
# Bundle fingerprint
# --------------------------------------------------------------------------------------
def bundle_fingerprint(bundle) -> str:
    """SHA-256 (first 16 hex digits) of the VQ-VAE's and prior's configs and float32 weights.

    Two bundles with the same fingerprint decode a .dlc file to the same images; the stored
    weight precision (float16 files are widened on load) does not matter, only the values.
    """
    digest = hashlib.sha256()
    for part, model in (("vqvae", bundle.vqvae), ("prior", bundle.prior)):
        if model is None:
            digest.update(f"{part}:none;".encode())
            continue
        digest.update(f"{part}:{json.dumps(model.config.to_dict(), sort_keys=True)};".encode())
        for name, tensor in sorted(model.state_dict().items()):
            t = tensor.detach().cpu().contiguous()
            if t.is_floating_point():
                t = t.float()
            digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
            digest.update(t.numpy().tobytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------
# .dlc files
# --------------------------------------------------------------------------------------
_FORBIDDEN = set('/\\:\0*?"<>|')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an image name in a .dlc file (None if it can): names become file
    names when decompressing, so they must be plain, short, unique names without separators."""
    if not isinstance(name, str) or not name:
        return "an image name is empty or not text"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"the image name {name[:40]!r}... is longer than {MAX_NAME_BYTES} bytes"
    if name.startswith(".") or name != name.strip():
        return f"the image name {name!r} starts with '.' or has surrounding spaces"
    if any(c in _FORBIDDEN or ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        return f"the image name {name!r} contains a path separator or another forbidden character"
    if name.split(".")[0].upper() in _RESERVED:
        return f"the image name {name!r} is a reserved device name on Windows"
    return None


def _checked_names(names: Sequence[object], error: type[Exception]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        problem = name_problem(name)
        if problem:
            raise error(problem[0].upper() + problem[1:] + ".")
        key = output_name(name).casefold()       # type: ignore[arg-type]
        if key in seen:
            raise error(f"Two images would be written as {output_name(name)!r}; image names must be unique.")
        seen.add(key)
    return [str(n) for n in names]


def output_name(name: str) -> str:
    """The PNG file an image decompresses to: its name with the extension replaced by .png."""
    stem, dot, ext = name.rpartition(".")
    return (stem if dot and stem else name) + ".png"


def _header(bundle, codes: torch.Tensor, names: list[str], labels, payload: bytes, batch: int) -> dict:
    n, h, w = codes.shape
    return {
        "format": "discrete-latent-explorer-codes",
        "bundle": bundle_fingerprint(bundle),
        "grid": [h, w],
        "num_codes": bundle.prior.config.num_codes,
        "count": n,
        "batch": batch,
        "names": names,
        "labels": None if labels is None else [int(x) for x in torch.as_tensor(labels).reshape(-1)],
        "payload_words": len(payload) // 4,
        "codes_crc32": _codes_crc(codes, bundle.prior.config.num_codes),
    }


def _codes_crc(codes: torch.Tensor, num_codes: int) -> int:
    return zlib.crc32(codes.to(torch.uint8 if num_codes <= 256 else torch.int64).numpy().tobytes())


def dlc_bytes(bundle, codes: torch.Tensor, names: Sequence[str], labels=None, batch: int = BATCH,
              progress: ProgressFn | None = None) -> bytes:
    """The whole .dlc file for ``codes`` (N, H, W) of ``bundle`` as bytes (see the module docstring)."""
    if bundle.prior is None:
        raise ValueError("this bundle has no prior to code with")
    codes = _check_codes(bundle.prior, codes)
    cfg = bundle.prior.config
    if tuple(codes.shape[1:]) != (cfg.height, cfg.width):
        raise ValueError(f"codes are {tuple(codes.shape[1:])} grids but the prior models {cfg.height}x{cfg.width}")
    if len(names) != codes.shape[0]:
        raise ValueError(f"{codes.shape[0]} grids but {len(names)} names")
    if codes.shape[0] > MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images fit in one file")
    names = _checked_names(names, ValueError)
    payload = encode_grids(bundle.prior, codes, labels, batch, progress)
    header = _header(bundle, codes, names, labels, payload, batch)
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError("too many or too long image names for one file")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)) + text + payload
    return body + _CRC.pack(zlib.crc32(body))


def write_dlc(path: str | os.PathLike, bundle, codes: torch.Tensor, names: Sequence[str], labels=None,
              batch: int = BATCH, progress: ProgressFn | None = None) -> int:
    """Write a .dlc file atomically (temp file in the same folder, fsync, rename); returns its size."""
    data = dlc_bytes(bundle, codes, names, labels, batch, progress)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return len(data)


def _read_bounded(path: str | os.PathLike) -> bytes:
    """The file's bytes: regular files only (a FIFO or device never blocks), at most MAX_FILE_BYTES."""
    try:
        return read_regular_file(path, MAX_FILE_BYTES)
    except UnsafeInput as exc:
        raise CompressedFileError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def parse_dlc(data: bytes) -> tuple[dict, bytes]:
    """Check a .dlc file's framing and header; returns (header, payload). CompressedFileError if bad."""
    if len(data) < _PREFIX.size + _CRC.size:
        raise CompressedFileError("The file is too short to be a .dlc file (truncated?).")
    magic, version, hlen = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise CompressedFileError("This is not a compressed-codes (.dlc) file (wrong magic bytes).")
    if version != FORMAT_VERSION:
        raise CompressedFileError(f"The file uses .dlc format version {version}; this program reads version "
                                  f"{FORMAT_VERSION}.")
    body, (crc,) = data[:-_CRC.size], _CRC.unpack_from(data, len(data) - _CRC.size)
    if hlen > MAX_HEADER_BYTES or _PREFIX.size + hlen > len(body):
        raise CompressedFileError("The file is truncated or corrupt (its header runs past the end).")
    if zlib.crc32(body) != crc:
        raise CompressedFileError("The file is corrupt or truncated (checksum mismatch).")
    try:
        header = json.loads(body[_PREFIX.size:_PREFIX.size + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CompressedFileError(f"The file's header is not valid JSON ({type(exc).__name__}).") from None
    if not isinstance(header, dict) or header.get("format") != "discrete-latent-explorer-codes":
        raise CompressedFileError("The file's header is not a compressed-codes header.")
    grid, count, k = header.get("grid"), header.get("count"), header.get("num_codes")
    names, labels, batch = header.get("names"), header.get("labels"), header.get("batch")
    if not (isinstance(grid, list) and len(grid) == 2 and all(_is_int(v, 1, 1024) for v in grid)):
        raise CompressedFileError("The file's header has an invalid grid size.")
    if not _is_int(k, 2, 1 << 16):
        raise CompressedFileError("The file's header has an invalid number of codes.")
    if not _is_int(count, 0, MAX_IMAGES) or not isinstance(names, list) or len(names) != count:
        raise CompressedFileError("The file's header has an invalid image count or name list.")
    if not _is_int(batch, 1, MAX_BATCH):
        raise CompressedFileError("The file's header has an invalid batch size.")
    if labels is not None and not (isinstance(labels, list) and len(labels) == count
                                   and all(_is_int(v, 0, 1 << 16) for v in labels)):
        raise CompressedFileError("The file's header has an invalid label list.")
    if not isinstance(header.get("bundle"), str) or not _is_int(header.get("codes_crc32"), 0, 0xFFFFFFFF):
        raise CompressedFileError("The file's header lacks the bundle fingerprint or the codes checksum.")
    _checked_names(names, CompressedFileError)
    payload = body[_PREFIX.size + hlen:]
    words = header.get("payload_words")
    if not _is_int(words, 0, MAX_FILE_BYTES // 4) or 4 * words != len(payload):
        raise CompressedFileError("The file is truncated or corrupt (the coded data has the wrong length).")
    return header, payload


def read_dlc_header(path: str | os.PathLike) -> dict:
    """The checked header of a .dlc file (names, count, grid, fingerprint...) without decoding it."""
    return parse_dlc(_read_bounded(path))[0]


def read_dlc(path: str | os.PathLike, bundle, progress: ProgressFn | None = None,
             with_labels: bool = False):
    """Read a .dlc file made with ``bundle``: (names, codes (N, H, W) long), or with
    ``with_labels`` (names, codes, labels or None).

    Raises CompressedFileError (and nothing else for a bad file) when it is missing, not a
    regular file, truncated, corrupt, hostile, or was made with another bundle (the message
    names both fingerprints).
    """
    header, payload = parse_dlc(_read_bounded(path))
    if bundle.prior is None:
        raise CompressedFileError("The bundle has no prior, so it cannot decode compressed codes.")
    mine = bundle_fingerprint(bundle)
    if header["bundle"] != mine:
        raise CompressedFileError(f"The file was compressed with bundle {header['bundle']}, but the loaded bundle "
                                  f"is {mine}; decompress it with the bundle that made it.")
    cfg = bundle.prior.config
    if header["grid"] != [cfg.height, cfg.width] or header["num_codes"] != cfg.num_codes:
        raise CompressedFileError(f"The file holds {header['grid'][0]}x{header['grid'][1]} grids of "
                                  f"K={header['num_codes']} codes; the bundle's prior models {cfg.height}x"
                                  f"{cfg.width} grids of K={cfg.num_codes}.")
    labels = header["labels"]
    if (labels is None) != (not cfg.num_classes) or (labels and max(labels) >= cfg.num_classes):
        raise CompressedFileError("The file's class labels do not fit the bundle's prior.")
    try:
        codes = decode_grids(bundle.prior, payload, header["count"], (cfg.height, cfg.width), labels,
                             header["batch"], progress)
    except ValueError as exc:                  # the checks above should leave none: still one error type
        raise CompressedFileError(f"The file cannot be decoded with this bundle ({exc}).") from None
    if _codes_crc(codes, cfg.num_codes) != header["codes_crc32"]:
        raise CompressedFileError("The decoded codes fail their checksum: the file is corrupt, or this machine "
                                  "computes the prior's conditionals differently from the one that made it.")
    names = list(header["names"])
    return (names, codes, labels) if with_labels else (names, codes)


