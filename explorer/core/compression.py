"""Lossy image compression with a VQ-VAE and its prior (notes, "VQ-VAE for image compression").

An image becomes its code grid z = q(E(x)) (H x W indices into K codes); the grid is
entropy-coded with the prior's own conditionals, visited in raster order:

    bits(z) ~= -log2 p(z) = -sum_{i,j} log2 p(z_ij | z_<ij)          (notes, "PixelCNN")

and decoding runs the prior autoregressively, one position at a time, with the cached
("fast") evaluator of :mod:`explorer.core.sampling` (``prior.incremental``), decoding each
code from the same conditional the encoder used. The image is the VQ-VAE's decode of the
codes, so the loss is the VQ-VAE's reconstruction error; the codes themselves are lossless.

Coder: a range coder from ``constriction`` (``stream.queue.RangeEncoder``: 32-bit words,
24-bit fixed-point probabilities, every symbol at least 2^-24, ``Categorical(perfect=False)``),
one stream for a whole set of grids. The grids are coded in chunks of ``batch`` images that
advance in lockstep: for each chunk, for each position (i, j), the codes of all its images.

Determinism (encoder and decoder must see bit-identical conditionals, or decoding derails)
-------------------------------------------------------------------------------------------
1. *One code path.* Encoder and decoder run the very same function (:func:`_raster_code`):
   the same incremental evaluator, started from the same all-zero grid, fed the same codes
   in the same order, in chunks of the same sizes (``batch`` is stored in the file). The
   encoder never uses the faster teacher-forced pass, whose float sums are ordered
   differently. So every tensor op sees identical inputs with identical shapes and strides.
2. *One thread.* Kernels may reduce in a different order when run on a different number of
   threads (BLAS libraries document this). All prior arithmetic here runs under
   ``torch.set_num_threads(1)`` (restored afterwards), so the user's thread count cannot
   change a bit. It also runs on the CPU in float32, in eval mode (no dropout), whatever
   device the model was on. (With torch's OpenMP backend the setting belongs to the calling
   thread, so a GUI worker coding does not slow down other threads; MKL's is process-wide.)
3. *Probabilities from the logits in float64 with NumPy* (softmax, no threads), handed to
   constriction, which quantises them to integers deterministically (pure integer/IEEE
   arithmetic in Rust).
So on one machine the conditionals are bit-identical for any thread count; the tests check
1 against 2 threads. Across machines whose CPUs take other kernel paths (e.g. AVX-512 vs
AVX2) the float32 logits may differ in the last bits, which no rounding can rule out. Such a
mismatch is *detected*, never silent: the file stores a CRC-32 of the original codes and
decoding fails with a clear error if the decoded codes do not match it.

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

import copy
import hashlib
import io
import json
import math
import os
import struct
import tempfile
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from .safe_io import UnsafeInput, read_regular_file

MAGIC = b"\x89DLC\r\n\x1a\n"
FORMAT_VERSION = 1
BATCH = 256                      # images coded in lockstep (stored in each file; decoding uses the file's)
MAX_FILE_BYTES = 1 << 30         # no .dlc file is read beyond 1 GiB
MAX_HEADER_BYTES = 64 << 20      # the JSON header (names) is at most 64 MiB
MAX_IMAGES = 1_000_000           # images in one file
MAX_BATCH = 4096
MAX_NAME_BYTES = 255             # a file name on common file systems
_PREFIX = struct.Struct("<8sHI")  # magic, version, header length
_CRC = struct.Struct("<I")

ProgressFn = Callable[[int, int], None]      # (done, total) in images


class CompressedFileError(Exception):
    """A .dlc file is missing, truncated, corrupt, hostile, or made with another bundle."""


# --------------------------------------------------------------------------------------
# Determinism helpers
# --------------------------------------------------------------------------------------
_THREADS_LOCK = threading.RLock()      # re-entrant: a coder may call another


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one CPU thread (restored afterwards), so reductions cannot reorder."""
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@contextmanager
def _cpu_eval(prior: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """The prior on the CPU in eval mode (a copy if it lives elsewhere), restored afterwards."""
    device = next(prior.parameters()).device
    if device.type != "cpu":
        model = copy.deepcopy(prior).cpu().eval()
        yield model
        return
    was_training = prior.training
    prior.eval()
    try:
        yield prior
    finally:
        prior.train(was_training)


def _probabilities(logits: torch.Tensor) -> np.ndarray:
    """softmax in float64 with NumPy: (n, K) float32 logits -> (n, K) float64 probabilities."""
    z = logits.detach().cpu().numpy().astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p


def _check_labels(prior, n: int, labels) -> torch.Tensor | None:
    num_classes = int(getattr(prior.config, "num_classes", 0) or 0)
    if num_classes == 0:
        if labels is not None:
            raise ValueError("this prior is unconditional: do not pass labels")
        return None
    if labels is None:
        raise ValueError("this prior is class-conditional: pass one label per grid")
    labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
    if labels.shape[0] != n or bool(((labels < 0) | (labels >= num_classes)).any()):
        raise ValueError(f"need {n} labels in [0, {num_classes})")
    return labels


def _raster_code(prior, n: int, shape: tuple[int, int], labels: torch.Tensor | None, batch: int,
                 choose: Callable[[int, int, int, int, np.ndarray], np.ndarray],
                 progress: ProgressFn | None = None) -> torch.Tensor:
    """The one loop encoder and decoder share (see the module docstring, "Determinism").

    For each chunk of ``batch`` grids and each position (i, j) in raster order, computes the
    conditionals p(z_ij | z_<ij) (n_chunk, K) with the incremental evaluator and asks
    ``choose(start, stop, i, j, probs)`` for the chunk's codes at (i, j), which are committed.
    Returns the (n, H, W) grid of chosen codes.
    """
    h, w = shape
    out = torch.zeros(n, h, w, dtype=torch.long)
    with torch.inference_mode(), _one_thread(), _cpu_eval(prior) as model:
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            grid = torch.zeros(stop - start, h, w, dtype=torch.long)
            lab = labels[start:stop] if labels is not None else None
            stepper = model.incremental(grid, lab)
            for i in range(h):
                for j in range(w):
                    probs = _probabilities(stepper.logits_at(i, j))          # (n_chunk, K)
                    codes = torch.from_numpy(np.asarray(choose(start, stop, i, j, probs), dtype=np.int64))
                    out[start:stop, i, j] = codes
                    stepper.commit(i, j, codes)
            if progress is not None:
                progress(stop, n)
    return out


# --------------------------------------------------------------------------------------
# Grids <-> bytes
# --------------------------------------------------------------------------------------
def _categorical():
    import constriction
    return constriction.stream.model.Categorical(perfect=False)


def _check_codes(prior, codes: torch.Tensor) -> torch.Tensor:
    codes = torch.as_tensor(codes)
    if codes.ndim != 3 or codes.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError("codes must be an integer tensor (N, H, W)")
    k = prior.config.num_codes
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= k):
        raise ValueError(f"codes must lie in [0, {k})")
    return codes.long().cpu()


def encode_with_stats(prior, codes: torch.Tensor, labels=None, batch: int = BATCH,
                      progress: ProgressFn | None = None) -> tuple[bytes, np.ndarray]:
    """:func:`encode_grids`, also returning each grid's information content in bits under
    the coding conditionals, -sum log2 p(z_ij | z_<ij) (float64, (N,))."""
    import constriction

    codes = _check_codes(prior, codes)
    n, h, w = codes.shape
    labels = _check_labels(prior, n, labels)
    encoder = constriction.stream.queue.RangeEncoder()
    model = _categorical()
    bits = np.zeros(n, dtype=np.float64)
    flat = codes.numpy()

    def choose(start: int, stop: int, i: int, j: int, probs: np.ndarray) -> np.ndarray:
        symbols = flat[start:stop, i, j]
        encoder.encode(symbols.astype(np.int32), model, probs)
        bits[start:stop] -= np.log2(probs[np.arange(stop - start), symbols])
        return symbols

    _raster_code(prior, n, (h, w), labels, batch, choose, progress)
    words = encoder.get_compressed().astype("<u4", copy=False)
    return words.tobytes(), bits


def encode_grids(prior, codes: torch.Tensor, labels=None, batch: int = BATCH,
                 progress: ProgressFn | None = None) -> bytes:
    """Entropy-code (N, H, W) code grids with the prior's conditionals: the range coder's words.

    ``labels``: (N,) class labels for a class-conditional prior (else None). Inverse:
    :func:`decode_grids` with the same ``n``, ``shape``, ``labels`` and ``batch``.
    """
    return encode_with_stats(prior, codes, labels, batch, progress)[0]


def decode_grids(prior, data: bytes, n: int, shape: tuple[int, int], labels=None, batch: int = BATCH,
                 progress: ProgressFn | None = None) -> torch.Tensor:
    """Decode ``n`` grids of ``shape`` from :func:`encode_grids`' bytes: (n, H, W) long.

    The prior runs autoregressively (fast evaluator); each code is decoded from the same
    conditional the encoder used. Bytes that were not made this way decode to some grid
    (a range decoder cannot tell); :func:`read_dlc` checks a CRC of the codes.
    """
    import constriction

    if len(data) % 4:
        raise CompressedFileError("The coded data is not a whole number of 32-bit words.")
    if not 0 <= n <= MAX_IMAGES:
        raise ValueError(f"n must be in [0, {MAX_IMAGES}]")
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be in [1, {MAX_BATCH}]")
    h, w = int(shape[0]), int(shape[1])
    labels = _check_labels(prior, n, labels)
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    model = _categorical()
    k = prior.config.num_codes

    def choose(start: int, stop: int, i: int, j: int, probs: np.ndarray) -> np.ndarray:
        symbols = np.asarray(decoder.decode(model, probs), dtype=np.int64)
        return np.clip(symbols, 0, k - 1)

    return _raster_code(prior, n, (h, w), labels, batch, choose, progress)


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


# --------------------------------------------------------------------------------------
# Images, PNG/JPEG/WebP, rows for the table
# --------------------------------------------------------------------------------------
@torch.no_grad()
def images_to_codes(vqvae, images: np.ndarray | torch.Tensor, batch: int = 500) -> torch.Tensor:
    """uint8 (N, C, H, W) images -> (N, h, w) long code grids on the CPU."""
    from .metrics import encode_images
    return encode_images(vqvae, torch.as_tensor(np.asarray(images)), batch)


@torch.no_grad()
def codes_to_images(vqvae, codes: torch.Tensor, batch: int = 500) -> np.ndarray:
    """(N, h, w) codes -> the VQ-VAE's decoded images as uint8 (N, C, H, W)."""
    was = vqvae.training
    vqvae.eval()
    out = []
    try:
        for start in range(0, codes.shape[0], batch):
            x = vqvae.decode(codes[start:start + batch])
            out.append(x.mul(255.0).round().clamp(0, 255).to(torch.uint8).cpu().numpy())
    finally:
        vqvae.train(was)
    c, s = vqvae.config.in_channels, vqvae.config.image_size
    return np.concatenate(out) if out else np.zeros((0, c, s, s), dtype=np.uint8)


def _pil(image: np.ndarray):
    """uint8 (C, H, W) -> a PIL image ('L' for one channel, 'RGB' for three)."""
    from PIL import Image
    return Image.fromarray(image[0] if image.shape[0] == 1 else np.ascontiguousarray(image.transpose(1, 2, 0)))


def png_bytes(image: np.ndarray) -> int:
    """Size of the lossless PNG (Pillow, optimize=True) of uint8 (C, H, W)."""
    buf = io.BytesIO()
    _pil(image).save(buf, format="PNG", optimize=True)
    return len(buf.getvalue())


def lossy_roundtrip(image: np.ndarray, fmt: str, quality: int) -> tuple[int, np.ndarray]:
    """(bytes, decoded uint8 (C, H, W)) of a JPEG or WebP (Pillow, lossy) of uint8 (C, H, W)."""
    from PIL import Image
    buf = io.BytesIO()
    _pil(image).save(buf, format=fmt, quality=int(quality))
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        decoded = decoded.convert("L" if image.shape[0] == 1 else "RGB")
        arr = np.asarray(decoded, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return len(data), arr


def mse_uint8(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image MSE of uint8 (N, C, H, W) images with pixels scaled to [0, 1]: (N,) float64."""
    d = (a.astype(np.float64) - b.astype(np.float64)) / 255.0
    return (d * d).reshape(d.shape[0], -1).mean(axis=1)


def psnr(mse: float) -> float:
    """PSNR in dB for pixels in [0, 1]: 10 log10(1 / MSE) (inf for a perfect copy)."""
    return math.inf if mse <= 0 else 10.0 * math.log10(1.0 / mse)


@torch.no_grad()
def ideal_bits(prior, codes: torch.Tensor, labels=None, batch: int = 500) -> np.ndarray:
    """-log2 p(z) per grid under the prior (teacher-forced, float32): (N,) float64."""
    out = []
    with _cpu_eval(prior) as model:
        lab_all = _check_labels(model, codes.shape[0], labels)
        for start in range(0, codes.shape[0], batch):
            lab = lab_all[start:start + batch] if lab_all is not None else None
            out.append((-model.log_prob(codes[start:start + batch], lab) / math.log(2)).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


ROW_KEYS = ("raw_bytes", "png_bytes", "uniform_bits", "ideal_bits", "coded_bits", "mse", "psnr")


def compression_rows(bundle, images: np.ndarray, names: Sequence[str], labels=None,
                     progress: ProgressFn | None = None) -> list[dict]:
    """Per image: name, raw_bytes (C*H*W), png_bytes (lossless PNG, Pillow optimize=True),
    uniform_bits (H*W*log2 K for the grid), ideal_bits (-log2 p(z), teacher-forced prior),
    coded_bits, mse and psnr (VQ-VAE decode of the *decoded* codes, as uint8, against the
    image, pixels in [0, 1]).

    coded_bits: all images share one range-coded stream, so an image's bits are its share
    of the stream's actual length, split in proportion to each image's information content
    under the coding conditionals; they sum exactly to the stream's length (the .dlc
    header with the names is not included). The set is encoded, decoded and checked to
    round-trip exactly (a RuntimeError if it did not, which would be a bug).
    ``progress(done, total)`` counts images over encode then decode (total = 2N).
    """
    if bundle.prior is None:
        raise ValueError("this bundle has no prior to code with")
    images = np.asarray(images)
    n = images.shape[0]
    if len(names) != n:
        raise ValueError(f"{n} images but {len(names)} names")
    codes = images_to_codes(bundle.vqvae, images)
    enc_progress = (lambda d, t: progress(d, 2 * t)) if progress else None
    dec_progress = (lambda d, t: progress(t + d, 2 * t)) if progress else None
    payload, info_bits = encode_with_stats(bundle.prior, codes, labels, progress=enc_progress)
    h, w = codes.shape[1:]
    decoded = decode_grids(bundle.prior, payload, n, (h, w), labels, progress=dec_progress)
    if not torch.equal(decoded, codes):
        raise RuntimeError("decoding did not reproduce the codes (a bug: please report it)")
    recon = codes_to_images(bundle.vqvae, decoded)
    mse = mse_uint8(images, recon)
    ideal = ideal_bits(bundle.prior, codes, labels)
    stream_bits = 8.0 * len(payload)
    share = info_bits / info_bits.sum() if info_bits.sum() > 0 else np.full(n, 1.0 / max(n, 1))
    uniform = h * w * math.log2(bundle.prior.config.num_codes)
    return [{"name": str(names[idx]), "raw_bytes": int(images[idx].size), "png_bytes": png_bytes(images[idx]),
             "uniform_bits": uniform, "ideal_bits": float(ideal[idx]),
             "coded_bits": float(stream_bits * share[idx]), "mse": float(mse[idx]), "psnr": psnr(float(mse[idx]))}
            for idx in range(n)]


def summarise_rows(rows: Sequence[dict]) -> dict:
    """The set's means of each numeric column, plus count; psnr is the PSNR of the mean MSE
    (the mean of per-image PSNRs is infinite as soon as one image is exact)."""
    out: dict = {"name": "mean", "count": len(rows)}
    for key in ROW_KEYS:
        values = [float(r[key]) for r in rows]
        out[key] = float(np.mean(values)) if values else math.nan
    out["psnr"] = psnr(out["mse"]) if rows else math.nan
    return out


# --------------------------------------------------------------------------------------
# Rate-distortion against JPEG and WebP
# --------------------------------------------------------------------------------------
JPEG_QUALITIES = (1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)


def codec_curve(images: np.ndarray, fmt: str, qualities: Sequence[int]) -> list[dict]:
    """A lossy codec swept over ``qualities``: per quality the mean bits per image (whole
    files, headers included: each image is a standalone file), MSE and PSNR of the mean MSE."""
    curve = []
    for q in qualities:
        sizes, recon = zip(*(lossy_roundtrip(img, fmt, q) for img in images))
        mse = float(mse_uint8(images, np.stack(recon)).mean())
        curve.append({"quality": int(q), "bits_per_image": 8.0 * float(np.mean(sizes)), "mse": mse, "psnr": psnr(mse)})
    return curve


def bits_to_match_mse(curve: Sequence[dict], mse: float) -> float | None:
    """Bits per image a codec needs to reach ``mse``, interpolated along its curve.

    Points are ordered by bits; between two neighbours the curve is linear in (bits, log MSE).
    Returns the fewest bits at which the curve reaches ``mse``; the lowest-rate point's bits if
    even it is at least as good (an upper bound: the sweep goes no lower); None if no point is
    as good (the codec cannot match within the sweep).
    """
    points = sorted((float(p["bits_per_image"]), float(p["mse"])) for p in curve)
    if not points:
        return None
    if points[0][1] <= mse:
        return points[0][0]
    for (b0, m0), (b1, m1) in zip(points, points[1:]):
        if m1 <= mse < m0:
            if m1 <= 0 or mse <= 0:
                return b1
            t = (math.log(m0) - math.log(mse)) / (math.log(m0) - math.log(m1))
            return b0 + t * (b1 - b0)
    return None


def rate_distortion(bundles: dict, images: np.ndarray, jpeg_qualities: Sequence[int] = JPEG_QUALITIES,
                    webp_qualities: Sequence[int] = WEBP_QUALITIES, known: dict | None = None) -> dict:
    """Rate-distortion on the same uint8 (N, C, H, W) images.

    Returns {"images": N, "points": {bundle name: {bits_per_image (actual coded bits),
    ideal_bits_per_image, mse, psnr}}, "jpeg": curve, "webp": curve, "match": {bundle name:
    {"jpeg_bits", "webp_bits"}}} where curves are :func:`codec_curve` lists and "match" holds
    what JPEG/WebP need for the bundle's MSE (:func:`bits_to_match_mse`). ``known`` may give
    a bundle's point already measured (e.g. from :func:`summarise_rows`), keyed by name.
    Bundles without a prior or made for images of another shape are left out.
    """
    images = np.asarray(images)
    n = images.shape[0]
    points: dict[str, dict] = {}
    for name, bundle in bundles.items():
        if known and name in known:
            points[name] = dict(known[name])
            continue
        cfg = bundle.vqvae.config
        if bundle.prior is None or tuple(images.shape[1:]) != (cfg.in_channels, cfg.image_size, cfg.image_size):
            continue                             # no prior, or made for other images: no point
        codes = images_to_codes(bundle.vqvae, images)
        payload = encode_grids(bundle.prior, codes)
        mse = float(mse_uint8(images, codes_to_images(bundle.vqvae, codes)).mean())
        points[name] = {"bits_per_image": 8.0 * len(payload) / max(n, 1),
                        "ideal_bits_per_image": float(ideal_bits(bundle.prior, codes).mean()),
                        "mse": mse, "psnr": psnr(mse)}
    jpeg = codec_curve(images, "JPEG", jpeg_qualities)
    webp = codec_curve(images, "WEBP", webp_qualities)
    match = {name: {"jpeg_bits": bits_to_match_mse(jpeg, p["mse"]), "webp_bits": bits_to_match_mse(webp, p["mse"])}
             for name, p in points.items()}
    return {"images": n, "points": points, "jpeg": jpeg, "webp": webp, "match": match}


def compression_report(bundle, images: np.ndarray, names: Sequence[str], name: str = "bundle",
                       extra_bundles: dict | None = None, progress: ProgressFn | None = None) -> dict:
    """What the compression view shows, in one call: {"rows": :func:`compression_rows`,
    "mean": :func:`summarise_rows`, "rd": :func:`rate_distortion` with ``bundle`` (under
    ``name``, its point taken from the rows) and any ``extra_bundles`` as points}."""
    rows = compression_rows(bundle, images, names, progress=progress)
    mean = summarise_rows(rows)
    point = {"bits_per_image": mean["coded_bits"], "ideal_bits_per_image": mean["ideal_bits"],
             "mse": mean["mse"], "psnr": mean["psnr"]}
    bundles = {name: bundle, **{k: v for k, v in (extra_bundles or {}).items() if k != name}}
    rd = rate_distortion(bundles, images, known={name: point})
    return {"rows": rows, "mean": mean, "rd": rd}
