"""Grids <-> bytes: range coding of code grids with the prior's own conditionals.

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
"""
from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

BATCH = 256                      # images coded in lockstep (stored in each file; decoding uses the file's)
MAX_IMAGES = 1_000_000           # images in one stream / file
MAX_BATCH = 4096

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


