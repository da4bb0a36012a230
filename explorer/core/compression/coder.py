"""Grids <-> bytes: range coding of code grids with the prior's own conditionals.

An image becomes its code grid z = q(E(x)) (H x W indices into K codes); the grid is
entropy-coded with the prior's own conditionals, visited in raster order:

    bits(z) ~= -log2 p(z) = -sum_{i,j} log2 p(z_ij | z_<ij)          (notes, "PixelCNN")

and decoding runs the prior autoregressively, one position at a time, with the cached
("fast") evaluator of :mod:`explorer.core.sampling` (``prior.incremental``), decoding each
code from the same conditional the encoder used. The image is the VQ-VAE's decode of the
codes, so the loss is the VQ-VAE's reconstruction error; the codes themselves are lossless.

Coder: a range coder from ``constriction`` (``stream.queue.RangeEncoder``: 32-bit words,
24-bit fixed-point probabilities, every symbol at least 2^-24, ``Categorical(perfect=False)``,
which codes a whole batch of symbols, each with its own distribution, in one call), one stream
for a whole set of grids. The grids are coded in chunks of ``batch`` images that advance in
lockstep: for each chunk, for each position (i, j), the prior computes the conditionals of all
its images at once and the codes of all its images are coded one after the other (one stream
interleaved in a fixed order). A file of up to ``batch`` images is one chunk: the prior runs
H*W batched steps for the whole file. New streams use :func:`chunk_size`: BATCH images, fewer
for a prior whose cached evaluator re-reads a cache that grows with the chunk (a transformer).

Floor on the cost of a code (format version 2): before quantisation, a conditional whose largest
probability exceeds ``P_MAX = 1 - 2^-6`` is mixed with the uniform distribution just enough to
bring it down to P_MAX (p' = (1 - lam) p + lam / K). Every coded code then costs at least
``MIN_BITS_PER_CODE`` bits (constriction's rounding included), so a stream of W words can hold
at most (32 W + slack) / (H W MIN_BITS_PER_CODE) images: a reader refuses a file declaring
more before decoding anything (:func:`max_images_for`). On the shipped priors this costs
~0.1-0.2 % of the payload.

Determinism (encoder and decoder must see bit-identical conditionals, or decoding derails)
-------------------------------------------------------------------------------------------
1. *One code path.* Encoder and decoder run the very same function (:func:`_raster_code`):
   the same incremental evaluator, started from the same all-zero grid, fed the same codes
   in the same order, in chunks of the same sizes (``batch`` is stored in the file). The
   encoder never uses the faster teacher-forced pass, whose float sums are ordered
   differently. So every tensor op sees identical inputs with identical shapes and strides.
   (An evaluator with ``logits_of``, the transformer's, lets the encoder, which knows every
   code, run the same operations block by block instead of position by position: each op's
   inputs are the same tensors either way, so the logits are the same bits; tested.)
   The evaluator's arithmetic has a ``revision`` (``prior.incremental(..., revision)``): new
   streams use ``REVISION``; a file records which one (its format version), and is decoded
   with that one, so a faster evaluator never makes an older file undecodable.
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
"""
from __future__ import annotations

import copy
import math
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

BATCH = 256                      # images coded in lockstep (stored in each file; decoding uses the file's)
MAX_IMAGES = 1_000_000           # images in one stream / file
MAX_BATCH = 256                  # the largest chunk this program writes or reads (= BATCH: bounds the prior caches)
CACHE_BUDGET_BYTES = 10 << 20    # a chunk's re-read cache (see chunk_size) stays within this
P_MAX = 1.0 - 2.0 ** -6          # version 2: no code is coded with a probability above this
MIN_BITS_PER_CODE = -math.log2(1.0 - 2.0 ** -7)   # ... so each costs at least this (rounding to 24 bits included)
SLACK_BITS = 128                 # a range coder's stream may be this much shorter than the information it holds
REVISION = 2                     # the priors' cached-evaluator arithmetic new streams are coded with (.dlc version 3)

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


def _probabilities(logits: torch.Tensor, p_max: float | None = None) -> np.ndarray:
    """softmax in float64 with NumPy: (n, K) float32 logits -> (n, K) float64 probabilities;
    with ``p_max``, rows whose largest probability exceeds it are mixed with the uniform
    distribution, p' = (1 - lam) p + lam / K, lam = (max p - p_max) / (max p - 1/K), so that
    their largest probability is p_max (see the module docstring, "Floor")."""
    p = logits.detach().cpu().numpy().astype(np.float64)
    p -= p.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    if p_max is not None:
        top = p.max(axis=1, keepdims=True)
        over = top > p_max
        if over.any():               # else lam = 0 for every row, and (1 - 0) p + 0 / K is p, bit for bit
            k = p.shape[1]
            lam = np.where(over, (top - p_max) / np.maximum(top - 1.0 / k, 1e-300), 0.0)
            p = (1.0 - lam) * p + lam / k
    return p


def max_images_for(payload_words: int, grid: tuple[int, int]) -> int:
    """The most images a version-2 stream of ``payload_words`` 32-bit words can hold: each of
    their H*W codes costs at least MIN_BITS_PER_CODE bits, and a range coder's stream is at most
    SLACK_BITS shorter than the information it holds."""
    per_image = grid[0] * grid[1] * MIN_BITS_PER_CODE
    return int((32 * payload_words + SLACK_BITS) // per_image)


class _TeacherForcedSteps:
    """For a prior without a cached evaluator: each step runs the teacher-forced pass on the grid
    so far (slow, but the same function for encoder and decoder)."""

    def __init__(self, model, grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.model, self.grid, self.labels = model, grid.clone(), labels

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        return self.model.logits(self.grid, self.labels)[:, :, i, j]

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        self.grid[:, i, j] = codes


def _stepper(model, grid: torch.Tensor, labels: torch.Tensor | None, revision: int):
    """The prior's cached ("fast") evaluator of ``revision``, or the teacher-forced fallback if it has none."""
    try:
        return model.incremental(grid, labels, revision)
    except (NotImplementedError, AttributeError):
        return _TeacherForcedSteps(model, grid, labels)


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
                 progress: ProgressFn | None = None, p_max: float | None = None,
                 chunk_done: Callable[[int, int, torch.Tensor], None] | None = None,
                 revision: int = REVISION, known: torch.Tensor | None = None) -> torch.Tensor:
    """The one loop encoder and decoder share (see the module docstring, "Determinism").

    For each chunk of ``batch`` grids and each position (i, j) in raster order, computes the
    conditionals p(z_ij | z_<ij) (n_chunk, K) with the incremental evaluator and asks
    ``choose(start, stop, i, j, probs)`` for the chunk's codes at (i, j), which are committed.
    ``known``: the (n, H, W) codes when encoding; an evaluator with ``logits_of`` then computes
    every position's logits of a chunk at once, bit for bit the ones ``logits_at`` gives.
    ``chunk_done(start, stop, codes)`` sees each finished chunk (a reader checks its CRC there,
    so a corrupt file fails after its first chunk). Returns the (n, H, W) grid of chosen codes.
    """
    h, w = shape
    out = torch.zeros(n, h, w, dtype=torch.long)
    with torch.inference_mode(), _one_thread(), _cpu_eval(prior) as model:
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            grid = torch.zeros(stop - start, h, w, dtype=torch.long)
            lab = labels[start:stop] if labels is not None else None
            stepper = _stepper(model, grid, lab, revision)
            ahead = None
            if known is not None and hasattr(stepper, "logits_of"):
                ahead = stepper.logits_of(known[start:stop])                        # (HW, n_chunk, K)
            for i in range(h):
                for j in range(w):
                    logits = stepper.logits_at(i, j) if ahead is None else ahead[i * w + j]
                    probs = _probabilities(logits, p_max)                           # (n_chunk, K)
                    codes = torch.from_numpy(np.asarray(choose(start, stop, i, j, probs), dtype=np.int64))
                    out[start:stop, i, j] = codes
                    if ahead is None:
                        stepper.commit(i, j, codes)
            if chunk_done is not None:
                chunk_done(start, stop, out[start:stop])
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


def chunk_size(prior, n: int) -> int:
    """Images per lockstep chunk for a new stream of ``n`` grids: BATCH, or, for a prior whose
    cached evaluator re-reads a per-grid cache in full at every step (a transformer's keys and
    values, ``prior.cache_bytes_per_grid()``), the largest multiple of 16 whose cache fits
    CACHE_BUDGET_BYTES, so that it stays in the processor's last-level cache between steps. For
    the shipped transformer (147 KiB per grid): 64 images, whose 9.4 MiB are coded 15 % faster per
    image than 256 images' 38 MiB, which spill out of a 32 MiB L3 (benchmarks/README.md). The
    PixelCNNs' steps read a bounded neighbourhood and run fastest at BATCH."""
    per_grid = int(getattr(prior, "cache_bytes_per_grid", lambda: 0)())
    batch = BATCH if per_grid <= 0 else max(16, min(BATCH, CACHE_BUDGET_BYTES // per_grid // 16 * 16))
    return max(1, min(int(n), batch))


def _check_batch(batch: int) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be an integer in [1, {MAX_BATCH}]")
    return batch


def encode_with_stats(prior, codes: torch.Tensor, labels=None, batch: int | None = None,
                      progress: ProgressFn | None = None, p_max: float | None = P_MAX,
                      revision: int = REVISION) -> tuple[bytes, np.ndarray]:
    """:func:`encode_grids`, also returning each grid's information content in bits under
    the coding conditionals, -sum log2 p(z_ij | z_<ij) (float64, (N,))."""
    import constriction

    codes = _check_codes(prior, codes)
    n, h, w = codes.shape
    batch = _check_batch(chunk_size(prior, n) if batch is None else batch)
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

    _raster_code(prior, n, (h, w), labels, batch, choose, progress, p_max, revision=revision, known=codes)
    words = encoder.get_compressed().astype("<u4", copy=False)
    return words.tobytes(), bits


def encode_grids(prior, codes: torch.Tensor, labels=None, batch: int | None = None,
                 progress: ProgressFn | None = None, p_max: float | None = P_MAX, revision: int = REVISION) -> bytes:
    """Entropy-code (N, H, W) code grids with the prior's conditionals: the range coder's words.

    ``labels``: (N,) class labels for a class-conditional prior (else None). ``batch``: images
    per lockstep chunk (None: :func:`chunk_size`). ``p_max``: the
    floor of version 2 (None: version 1, no floor). ``revision``: the cached evaluator's
    arithmetic (1 for .dlc versions 1-2, 2 for version 3). Inverse: :func:`decode_grids` with
    the same ``n``, ``shape``, ``labels``, ``batch``, ``p_max`` and ``revision``.
    """
    return encode_with_stats(prior, codes, labels, batch, progress, p_max, revision)[0]


def decode_grids(prior, data: bytes, n: int, shape: tuple[int, int], labels=None, batch: int | None = None,
                 progress: ProgressFn | None = None, p_max: float | None = P_MAX,
                 chunk_done: Callable[[int, int, torch.Tensor], None] | None = None,
                 revision: int = REVISION) -> torch.Tensor:
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
    batch = _check_batch(chunk_size(prior, n) if batch is None else batch)
    h, w = int(shape[0]), int(shape[1])
    labels = _check_labels(prior, n, labels)
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    model = _categorical()
    k = prior.config.num_codes

    def choose(start: int, stop: int, i: int, j: int, probs: np.ndarray) -> np.ndarray:
        symbols = np.asarray(decoder.decode(model, probs), dtype=np.int64)
        return np.clip(symbols, 0, k - 1)

    return _raster_code(prior, n, (h, w), labels, batch, choose, progress, p_max, chunk_done, revision)


