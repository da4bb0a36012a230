"""The ``.dlc`` file: a header naming the bundle, the images' names (compressed), the coded grids.

``.dlc`` files, version 3 (written)
-----------------------------------
::

    magic   8 bytes  b"\\x89DLC\\r\\n\\x1a\\n"
    version u16 LE   3
    hlen    u32 LE   length of the header
    header  hlen     UTF-8 JSON: format, bundle fingerprint, grid [H, W], num_codes K, count N,
                     batch, names (bool), labels (bool), side [codec, bytes], payload_words,
                     codes_crc32, chunk_crc32 (one CRC per chunk of ``batch`` images)
    side    bytes    names and labels, compressed (:mod:`.names`); absent when neither is stored
    payload 4 * payload_words bytes: the range coder's 32-bit words, little-endian (coded with
                     the floor P_MAX, :mod:`.coder`)
    crc     u32 LE   CRC-32 of everything before it

Version 2 (still read): the same bytes; its grids were coded with revision 1 of the priors' cached
evaluators (version 3: revision 2, :data:`.coder.REVISION`), which for the transformer agrees with
revision 2 only to float rounding, so each file is decoded with the revision it names.

Version 1 (still read): the same frame, the names and labels as JSON lists in the header, no
side block, no chunk CRCs, no floor; revision 1.

Reading never trusts a count: the file size is checked first (at most ``MAX_FILE_BYTES``,
regular files only), every declared length against the bytes actually there, the image count
against what the payload can hold and the name list's inflated size against the count, all
before anything is decoded. Every way a file can be wrong raises :class:`CompressedFileError`,
whose message quotes file-provided text only through :func:`.names.shown`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Sequence

import torch

from ..safe_io import UnsafeInput, read_regular_file, write_file_atomically
from .coder import (MAX_BATCH, MAX_IMAGES, P_MAX, REVISION, CompressedFileError, ProgressFn, _check_codes, chunk_size,
                    decode_grids, encode_grids, max_images_for)
from .names import SIDE_CODECS, checked_names, pack_side, shown, side_limit, unpack_side

MAGIC = b"\x89DLC\r\n\x1a\n"
FORMAT_VERSION = 3               # written; versions 1, 2 and 3 are read
FORMAT_NAME = "discrete-latent-explorer-codes"
MAX_FILE_BYTES = 1 << 30         # no .dlc file is read beyond 1 GiB
MAX_HEADER_BYTES = 64 << 20      # the JSON header, and the names, are at most 64 MiB
V1_FREE_IMAGES = 1024            # version 1: images a file may declare beyond 32 per bit of its stream
_HEX = set("0123456789abcdef")
_PREFIX = struct.Struct("<8sHI")  # magic, version, header length
_CRC = struct.Struct("<I")


# --------------------------------------------------------------------------------------
# Bundle fingerprint
# --------------------------------------------------------------------------------------
# Config fields added after .dlc files were first written. While one holds its default it is left out
# of the fingerprint, so a file compressed before the field existed still matches the same model.
# A new field of VQVAEConfig or PriorConfig belongs here.
LATER_CONFIG_FIELDS = ("lookup_dim", "heads", "mlp_ratio", "class_heads")


def _fingerprinted_config(config) -> dict:
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    return {key: value for key, value in config.to_dict().items()
            if not (key in LATER_CONFIG_FIELDS and value == defaults.get(key))}


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
        digest.update(f"{part}:{json.dumps(_fingerprinted_config(model.config), sort_keys=True)};".encode())
        for name, tensor in sorted(model.state_dict().items()):
            t = tensor.detach().cpu().contiguous()
            if t.is_floating_point():
                t = t.float()
            digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
            digest.update(t.numpy().tobytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------
# Writing (version 3)
# --------------------------------------------------------------------------------------
def _codes_crc(codes: torch.Tensor, num_codes: int) -> int:
    return zlib.crc32(codes.to(torch.uint8 if num_codes <= 256 else torch.int64).numpy().tobytes())


def _check_write_labels(bundle, n: int, labels) -> list[int] | None:
    num_classes = int(getattr(bundle.prior.config, "num_classes", 0) or 0)
    if labels is None:
        if num_classes:
            raise ValueError("this bundle's prior is class-conditional: give each image's class label")
        return None
    values = [int(x) for x in torch.as_tensor(labels).reshape(-1)]
    if not num_classes:
        raise ValueError("this bundle's prior is unconditional: do not give labels")
    if len(values) != n or any(not 0 <= v < num_classes for v in values):
        raise ValueError(f"need {n} labels in [0, {num_classes})")
    return values


def dlc_bytes(bundle, codes: torch.Tensor, names: Sequence[str] | None = None, labels=None, batch: int | None = None,
              progress: ProgressFn | None = None) -> bytes:
    """The whole .dlc file (format version 3) for ``codes`` (N, H, W) of ``bundle`` as bytes.

    ``names``: one per image (None: the file stores no names and decompresses to 000000.png,
    ...). ``labels``: one class per image, required by (and only by) a class-conditional prior.
    ``batch``: images per lockstep chunk, by default :func:`~.coder.chunk_size`.
    """
    if bundle.prior is None:
        raise ValueError("this bundle has no prior to code with")
    codes = _check_codes(bundle.prior, codes)
    cfg = bundle.prior.config
    n = codes.shape[0]
    if tuple(codes.shape[1:]) != (cfg.height, cfg.width):
        raise ValueError(f"codes are {tuple(codes.shape[1:])} grids but the prior models {cfg.height}x{cfg.width}")
    if names is not None and len(names) != n:
        raise ValueError(f"{n} grids but {len(names)} names")
    if n > MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images fit in one file")
    batch = chunk_size(bundle.prior, n) if batch is None else batch
    checked = None if names is None else checked_names(names, ValueError)
    label_list = _check_write_labels(bundle, n, labels)
    codec, side = pack_side(checked, label_list)
    if len(side) > MAX_HEADER_BYTES:
        raise ValueError("too many or too long image names for one file")
    payload = encode_grids(bundle.prior, codes, label_list, batch, progress, P_MAX, REVISION)
    words = len(payload) // 4
    if n > max_images_for(words, (cfg.height, cfg.width)):      # never write what a reader refuses
        raise RuntimeError("the coded stream is shorter than its floor allows (a bug: please report it)")
    chunks = [_codes_crc(codes[s:s + batch], cfg.num_codes) for s in range(0, n, batch)]
    header = {"format": FORMAT_NAME, "bundle": bundle_fingerprint(bundle), "grid": [cfg.height, cfg.width],
              "num_codes": cfg.num_codes, "count": n, "batch": batch, "names": checked is not None,
              "labels": label_list is not None, "side": [codec, len(side)], "payload_words": words,
              "codes_crc32": _codes_crc(codes, cfg.num_codes), "chunk_crc32": chunks}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)) + text + side + payload
    return body + _CRC.pack(zlib.crc32(body))


def write_dlc(path: str | os.PathLike, bundle, codes: torch.Tensor, names: Sequence[str] | None = None, labels=None,
              batch: int | None = None, progress: ProgressFn | None = None) -> int:
    """Write a .dlc file atomically (:func:`_write_atomically`); returns its size."""
    data = dlc_bytes(bundle, codes, names, labels, batch, progress)
    _write_atomically(Path(path), data)
    return len(data)


def _write_atomically(path: Path, data: bytes) -> None:
    """The one place a .dlc file is written: safe_io's atomic writer (temp file, fsync, rename; refuses a
    FIFO, device, symlink or folder at ``path``; a new file gets the umask's permissions)."""
    write_file_atomically(path, lambda out: out.write(data))


# --------------------------------------------------------------------------------------
# Reading (versions 1, 2 and 3)
# --------------------------------------------------------------------------------------
def _read_bounded(path: str | os.PathLike) -> bytes:
    """The file's bytes: regular files only (a FIFO or device never blocks), at most MAX_FILE_BYTES."""
    try:
        return read_regular_file(path, MAX_FILE_BYTES)
    except UnsafeInput as exc:
        raise CompressedFileError(f"The file cannot be read ({shown(exc, 200)}).") from None


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_common(header: dict) -> None:
    """The fields both versions share (everything but names, labels and the side block)."""
    grid, count, k, batch = header.get("grid"), header.get("count"), header.get("num_codes"), header.get("batch")
    if not (isinstance(grid, list) and len(grid) == 2 and all(_is_int(v, 1, 1024) for v in grid)):
        raise CompressedFileError("The file's header has an invalid grid size.")
    if not _is_int(k, 2, 1 << 16):
        raise CompressedFileError("The file's header has an invalid number of codes.")
    if not _is_int(count, 0, MAX_IMAGES):
        raise CompressedFileError("The file's header has an invalid image count.")
    if not _is_int(batch, 1, MAX_BATCH):
        raise CompressedFileError(f"The file's header has an invalid batch size (this program reads at most "
                                  f"{MAX_BATCH}).")
    fingerprint = header.get("bundle")
    if not (isinstance(fingerprint, str) and len(fingerprint) == 16 and all(c in _HEX for c in fingerprint)):
        raise CompressedFileError(f"The file's header has an invalid bundle fingerprint '{shown(fingerprint, 24)}'.")
    if not _is_int(header.get("codes_crc32"), 0, 0xFFFFFFFF):
        raise CompressedFileError("The file's header lacks the codes checksum.")
    if not _is_int(header.get("payload_words"), 0, MAX_FILE_BYTES // 4):
        raise CompressedFileError("The file is truncated or corrupt (the coded data has the wrong length).")


def _check_labels_field(labels: object, count: int) -> None:
    if labels is not None and not (isinstance(labels, list) and len(labels) == count
                                   and all(_is_int(v, 0, 1 << 16) for v in labels)):
        raise CompressedFileError("The file's header has an invalid label list.")


def _parse_v1(header: dict, rest: bytes) -> tuple[dict, bytes]:
    _check_common(header)
    count, words = header["count"], header["payload_words"]
    names, labels = header.get("names"), header.get("labels")
    if not isinstance(names, list) or len(names) != count:
        raise CompressedFileError("The file's header has an invalid image count or name list.")
    _check_labels_field(labels, count)
    checked_names(names, CompressedFileError)
    if 4 * words != len(rest):
        raise CompressedFileError("The file is truncated or corrupt (the coded data has the wrong length).")
    # Version 1 had no floor on a code's cost: a legacy file may declare up to 1024 images, plus one
    # per 1/32 bit of stream (no real image costs less), which refuses an empty stream declaring 4096.
    if count > V1_FREE_IMAGES + 32 * (32 * words):
        raise CompressedFileError(f"The file declares {count} images, more than its {len(rest)} bytes of coded "
                                  f"data can hold.")
    return {**header, "version": 1, "names": names, "labels": labels, "chunk_crc32": None}, rest


def _parse_v2(header: dict, rest: bytes, version: int = 2) -> tuple[dict, bytes]:
    """Versions 2 and 3 (the same layout)."""
    _check_common(header)
    count, words, grid = header["count"], header["payload_words"], header["grid"]
    side = header.get("side")
    if not (isinstance(side, list) and len(side) == 2 and side[0] in SIDE_CODECS
            and _is_int(side[1], 0, MAX_HEADER_BYTES)):
        raise CompressedFileError("The file's header has an invalid name-list field.")
    if not isinstance(header.get("names"), bool) or not isinstance(header.get("labels"), bool):
        raise CompressedFileError("The file's header does not say whether it holds names and labels.")
    if side[1] + 4 * words != len(rest):
        raise CompressedFileError("The file is truncated or corrupt (the coded data has the wrong length).")
    # Bounds before anything is decoded (issue 22, item 9): each image costs at least
    # H*W*MIN_BITS_PER_CODE bits of the stream, and no chunk is larger than the file's image count.
    if count > max_images_for(words, (grid[0], grid[1])):
        raise CompressedFileError(f"The file declares {count} images, more than its {4 * words} bytes of coded data "
                                  f"can hold.")
    chunks = header.get("chunk_crc32")
    expected = -(-count // header["batch"])
    if not (isinstance(chunks, list) and len(chunks) == expected and all(_is_int(c, 0, 0xFFFFFFFF) for c in chunks)):
        raise CompressedFileError("The file's header has an invalid list of chunk checksums.")
    block = rest[:side[1]]
    if header["names"] or header["labels"]:
        values = unpack_side(side[0], block, side_limit(count), CompressedFileError)
    elif side[1]:
        raise CompressedFileError("The file holds a name list its header does not declare.")
    else:
        values = {}
    names, labels = values.get("names"), values.get("labels")
    if header["names"] != (names is not None) or header["labels"] != (labels is not None):
        raise CompressedFileError("The file's name list does not match its header.")
    if names is not None:
        if not isinstance(names, list) or len(names) != count:
            raise CompressedFileError("The file's name list does not have one name per image.")
        checked_names(names, CompressedFileError)
    _check_labels_field(labels, count)
    return {**header, "version": version, "names": names, "labels": labels}, rest[side[1]:]


def parse_dlc(data: bytes) -> tuple[dict, bytes]:
    """Check a .dlc file's framing and header (version 1, 2 or 3); returns (header, payload).

    The header is normalised: ``version``, ``names`` (list, or None when the file stores none),
    ``labels`` (list or None), ``chunk_crc32`` (list, or None for version 1), and the common fields.
    Raises CompressedFileError, and nothing else, if anything is wrong.
    """
    if len(data) < _PREFIX.size + _CRC.size:
        raise CompressedFileError("The file is too short to be a .dlc file (truncated?).")
    magic, version, hlen = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise CompressedFileError("This is not a compressed-codes (.dlc) file (wrong magic bytes).")
    if version not in (1, 2, 3):
        raise CompressedFileError(f"The file uses .dlc format version {version}; this program reads versions 1 "
                                  f"to {FORMAT_VERSION}.")
    body, (crc,) = data[:-_CRC.size], _CRC.unpack_from(data, len(data) - _CRC.size)
    if hlen > MAX_HEADER_BYTES or _PREFIX.size + hlen > len(body):
        raise CompressedFileError("The file is truncated or corrupt (its header runs past the end).")
    if zlib.crc32(body) != crc:
        raise CompressedFileError("The file is corrupt or truncated (checksum mismatch).")
    try:
        header = json.loads(body[_PREFIX.size:_PREFIX.size + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CompressedFileError(f"The file's header is not valid JSON ({type(exc).__name__}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CompressedFileError("The file's header is not a compressed-codes header.")
    rest = body[_PREFIX.size + hlen:]
    return _parse_v1(header, rest) if version == 1 else _parse_v2(header, rest, version)


def read_dlc_header(path: str | os.PathLike) -> dict:
    """The checked, normalised header of a .dlc file (see :func:`parse_dlc`) without decoding it."""
    return parse_dlc(_read_bounded(path))[0]


def read_dlc_parts(path: str | os.PathLike) -> tuple[dict, bytes]:
    """(checked header, payload) of a .dlc file, read once and bounded; decode with :func:`decode_dlc`."""
    return parse_dlc(_read_bounded(path))


# The bundles shipped in trained_models/, by fingerprint, so a file made with one of them names the
# folder that decodes it (a test checks every entry against the shipped weights). `mnist`
# and `mnist-classes` changed prior on 2026-12-06; the earlier ones live on unchanged as `*-pixelcnn`.
SHIPPED_FINGERPRINTS = {
    "ec604c60a17a2957": ("mnist-pixelcnn", "the `mnist` bundle shipped before 6 December 2026"),
    "21406afa97e8f5b2": ("mnist-1to4", "the shipped `mnist-1to4` bundle"),
    "a88f648058a73dd2": ("mnist-gumbel", "the shipped `mnist-gumbel` bundle"),
    "b1dfd94d1f01b36b": ("mnist-classes-pixelcnn", "the `mnist-classes` bundle shipped before 6 December 2026"),
    "f1fb2718c4f86a26": ("mnist-transformer", "the `mnist` bundle shipped from 6 to 7 December 2026"),
    "0ffa8adb745128b0": ("mnist", "the shipped `mnist` bundle"),
    "cedd8bd6921bd86b": ("mnist-classes", "the shipped `mnist-classes` bundle"),
}


def _which_shipped(fingerprint: str) -> str:
    """A sentence naming the shipped bundle folder that made a file with this fingerprint, else ''."""
    known = SHIPPED_FINGERPRINTS.get(fingerprint)
    if known is None:
        return ""
    name, what = known
    return f" It was made with {what}: decompress it with trained_models/{name}."


def check_bundle(header: dict, bundle) -> None:
    """CompressedFileError unless ``bundle`` is the one that made the file of ``header``."""
    if bundle.prior is None:
        raise CompressedFileError("The bundle has no prior, so it cannot decode compressed codes.")
    mine = bundle_fingerprint(bundle)
    if header["bundle"] != mine:
        raise CompressedFileError(f"The file was compressed with bundle {shown(header['bundle'], 24)}, but the loaded "
                                  f"bundle is {mine}; decompress it with the bundle that made it."
                                  + _which_shipped(header["bundle"]))
    cfg = bundle.prior.config
    if header["grid"] != [cfg.height, cfg.width] or header["num_codes"] != cfg.num_codes:
        raise CompressedFileError(f"The file holds {header['grid'][0]}x{header['grid'][1]} grids of "
                                  f"K={header['num_codes']} codes; the bundle's prior models {cfg.height}x"
                                  f"{cfg.width} grids of K={cfg.num_codes}.")
    labels = header["labels"]
    num_classes = int(getattr(cfg, "num_classes", 0) or 0)
    if (labels is None) != (not num_classes) or (labels and max(labels) >= num_classes):
        raise CompressedFileError("The file's class labels do not fit the bundle's prior.")


def read_dlc(path: str | os.PathLike, bundle, progress: ProgressFn | None = None,
             with_labels: bool = False):
    """Read a .dlc file (version 1, 2 or 3) made with ``bundle``: (names, codes (N, H, W) long), or
    with ``with_labels`` (names, codes, labels or None). ``names`` is None for a file made
    without names (:func:`.names.output_names` numbers them).

    Raises CompressedFileError (and nothing else for a bad file) when it is missing, not a
    regular file, truncated, corrupt, hostile, or was made with another bundle (the message
    names both fingerprints). Every bound is checked before decoding; a version-2 or -3 file is
    checked chunk by chunk, so a corrupt stream fails after its first chunk.
    """
    header, payload = read_dlc_parts(path)
    return decode_dlc(header, payload, bundle, progress, with_labels)


def decode_dlc(header: dict, payload: bytes, bundle, progress: ProgressFn | None = None, with_labels: bool = False):
    """:func:`read_dlc` on a header and payload from :func:`parse_dlc`."""
    check_bundle(header, bundle)
    cfg = bundle.prior.config
    chunks = header["chunk_crc32"]
    batch = header["batch"]

    def chunk_done(start: int, stop: int, codes: torch.Tensor) -> None:
        if chunks is not None and _codes_crc(codes, cfg.num_codes) != chunks[start // batch]:
            raise CompressedFileError(_CODES_MISMATCH)

    labels = header["labels"]
    try:
        codes = decode_grids(bundle.prior, payload, header["count"], (cfg.height, cfg.width), labels, batch,
                             progress, P_MAX if header["version"] >= 2 else None, chunk_done,
                             REVISION if header["version"] >= 3 else 1)
    except ValueError as exc:                  # the checks above should leave none: still one error type
        raise CompressedFileError(f"The file cannot be decoded with this bundle ({shown(exc, 120)}).") from None
    if _codes_crc(codes, cfg.num_codes) != header["codes_crc32"]:
        raise CompressedFileError(_CODES_MISMATCH)
    names = None if header["names"] is None else list(header["names"])
    return (names, codes, labels) if with_labels else (names, codes)


_CODES_MISMATCH = ("The decoded codes fail their checksum: the file is corrupt, or this machine computes the prior's "
                   "conditionals differently from the one that made it.")
