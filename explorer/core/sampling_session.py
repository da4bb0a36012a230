"""A steppable raster-sampling run for the Sampling panel (notes, "PixelCNN: Inference").

    z_ij ~ p(z_ij | z_<ij),   log p(z) = sum_{i,j} log p(z_ij | z_<ij)

:class:`SamplingSession` drives :class:`~explorer.core.sampling.RasterSampler` one position at a
time and keeps every step it has taken, so it can step back *exactly*: the sampler draws all
its uniforms up front from ``torch.Generator().manual_seed(seed)``, so replaying a kept step
and continuing the same iterator gives the very grid that

    prior.sample(n, temperature=T, top_k=k, labels=label, generator=torch.Generator().manual_seed(seed))

returns (greedy = temperature 0). The session also sums the model's own log-likelihood of the
chosen codes (T = 1, no top-k: what ``prior.log_prob`` scores) and the per-step surprise
-log p(z_ij | z_<ij).

A session can also *continue* another run: it keeps that run's first t steps exactly as they
were drawn and draws the rest with its own settings. The kept codes are "given" to the sampler,
and the uniforms still come from the seed, so the grid is what

    prior.sample(n, ..., generator=torch.Generator().manual_seed(seed), given=kept)

returns, ``kept`` being the earlier batch after step t with every later cell -1.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .sampling import RasterSampler, RasterStep

MAX_BATCH = 64          # largest gallery batch the panel samples at once


@dataclass(frozen=True)
class SamplingSettings:
    """Everything that decides the sampled grid; equal settings give equal grids."""
    temperature: float = 1.0      # T in softmax(logits / T), 0.1 .. 2 (ignored when greedy)
    top_k: int | None = None      # keep the k most likely codes (None: all K)
    greedy: bool = False          # argmax at every position (the same as temperature 0)
    seed: int = 0                 # torch.Generator().manual_seed(seed) draws the uniforms
    label: int | None = None      # class of a class-conditional prior (None: unconditional)
    n: int = 1                    # grids sampled together in one batch (the gallery)
    index: int = 0                # the grid of the batch being animated

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_BATCH:
            raise ValueError(f"n must be in 1..{MAX_BATCH}")
        if not 0 <= self.index < self.n:
            raise ValueError("index must be in 0..n-1")
        if not self.greedy and self.temperature <= 0:
            raise ValueError("temperature must be > 0 (use greedy for argmax)")

    @property
    def sampling_temperature(self) -> float:
        """The temperature passed to the sampler: 0 means argmax."""
        return 0.0 if self.greedy else float(self.temperature)

    def to_dict(self) -> dict:
        return asdict(self)

    def sample_kwargs(self) -> dict:
        """Keyword arguments of ``prior.sample`` that reproduce this run's batch."""
        return dict(temperature=self.sampling_temperature, top_k=self.top_k,
                    labels=self.label, generator=torch.Generator().manual_seed(int(self.seed)))


def sample_batch(prior, settings: SamplingSettings) -> torch.Tensor:
    """The (n, H, W) batch the session with these settings ends in (one call of prior.sample)."""
    return prior.sample(settings.n, **settings.sample_kwargs())


class SamplingSession:
    """One run of raster sampling that can step forward, step back, reset and run to the end."""

    def __init__(self, prior, settings: SamplingSettings, method: str = "fast",
                 kept: "RunRecord | None" = None) -> None:
        cfg = prior.config
        if settings.label is not None and not cfg.num_classes:
            raise ValueError("this prior is unconditional: no class label")
        if cfg.num_classes and (settings.label is None or not 0 <= settings.label < cfg.num_classes):
            raise ValueError(f"this prior is class-conditional: pick a class in 0..{cfg.num_classes - 1}")
        self.prior, self.settings, self.method = prior, settings, method
        self.shape: tuple[int, int] = (cfg.height, cfg.width)
        self.num_codes: int = cfg.num_codes
        self.history: list[RasterStep] = []      # every step computed so far, in raster order
        self.t = 0                               # how many of them are shown (0 .. H*W)
        self._steps: Iterator[RasterStep] | None = None
        self.kept = 0                            # leading steps kept from an earlier run
        self.kept_settings: SamplingSettings | None = None    # the settings they were drawn with
        self.given: np.ndarray | None = None     # (n, H, W) the kept codes, -1 after them
        self.kept_record: RunRecord | None = None    # the kept steps, as given
        if kept is not None:
            self._keep(kept)

    def _keep(self, kept: "RunRecord") -> None:
        """Start from the first ``t`` steps of another run (``kept`` holds exactly those steps)."""
        t = int(kept.grids.shape[0])
        n, h, w = self.settings.n, *self.shape
        if kept.grids.shape[1:] != (n, h, w) or not 0 < t <= h * w:
            raise ValueError("the kept steps are from a batch of another size")
        given = np.array(kept.grids[-1], dtype=np.int64).reshape(n, h * w)
        given[:, t:] = -1
        self.given = given.reshape(n, h, w)
        self.kept, self.kept_settings, self.kept_record = t, kept.settings, kept
        self.history = steps_of(kept, w)
        self.t = t

    # -- the run ----------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """H * W: the number of steps (and of full passes the naive sampler needs)."""
        return self.shape[0] * self.shape[1]

    @property
    def finished(self) -> bool:
        return self.t >= self.total

    def _next_computed(self) -> RasterStep:
        if self._steps is None:
            s = self.settings
            self._steps = RasterSampler(self.prior, self.method).steps(
                s.n, temperature=s.sampling_temperature, top_k=s.top_k, labels=s.label,
                generator=torch.Generator().manual_seed(int(s.seed)),
                given=None if self.given is None else torch.from_numpy(self.given))
            for _ in self.history:               # steps already known (kept): computed again, not shown
                next(self._steps)
        step = next(self._steps)
        self.history.append(step)
        return step

    def step(self) -> RasterStep | None:
        """Decide the next position (replaying a kept step after a step back); None at the end."""
        if self.finished:
            return None
        if self.t == len(self.history):
            self._next_computed()
        self.t += 1
        return self.history[self.t - 1]

    def step_back(self) -> bool:
        """Undo one step exactly (the kept step is replayed by the next :meth:`step`)."""
        if self.t == 0:
            return False
        self.t -= 1
        return True

    def reset(self) -> None:
        """Back to the empty grid; the same settings will draw the same grid again."""
        self.t = 0

    def run_to_end(self) -> None:
        while self.step() is not None:
            pass

    def seek(self, t: int) -> None:
        """Show exactly ``t`` steps (computing any not yet computed)."""
        t = max(0, min(self.total, int(t)))
        while len(self.history) < t:
            self._next_computed()
        self.t = t

    def close(self) -> None:
        if self._steps is not None:
            self._steps.close()
            self._steps = None

    # -- what is shown ----------------------------------------------------------------------
    @property
    def current(self) -> RasterStep | None:
        """The step just taken (its position is the highlighted cell), or None before the first."""
        return self.history[self.t - 1] if self.t else None

    def position(self, t: int) -> tuple[int, int]:
        """Raster position of step t (0-based): (t // W, t % W)."""
        return divmod(int(t), self.shape[1])

    def grids(self) -> np.ndarray:
        """(n, H, W) int64: the batch so far, -1 where nothing is sampled yet."""
        h, w = self.shape
        out = np.full((self.settings.n, h, w), -1, dtype=np.int64)
        if self.t:
            flat = self.history[self.t - 1].grid.numpy().reshape(self.settings.n, -1)   # (n, H*W)
            out.reshape(self.settings.n, -1)[:, :self.t] = flat[:, :self.t]
        return out

    def grid(self) -> np.ndarray:
        """(H, W) int64 of the animated grid, -1 where nothing is sampled yet."""
        return self.grids()[self.settings.index]

    def probs(self) -> np.ndarray | None:
        """(K,) the sampling distribution at the current step (after temperature / top-k)."""
        step = self.current
        return None if step is None else step.probs[self.settings.index].numpy()

    def chosen(self) -> int | None:
        step = self.current
        return None if step is None else int(step.chosen[self.settings.index])

    def surprises(self) -> np.ndarray:
        """(t,) -log p(z_ij | z_<ij) in nats of each chosen code under the model (T = 1)."""
        b = self.settings.index
        return np.array([-float(s.log_probs[b, int(s.chosen[b])]) for s in self.history[:self.t]],
                        dtype=np.float64)

    def log_likelihood(self) -> float:
        """sum over the steps so far of log p(z_ij | z_<ij), nats; = prior.log_prob at the end."""
        return -float(self.surprises().sum())

    def record(self) -> "RunRecord":
        """The whole run as numpy arrays (runs the sampler to the end, keeps t)."""
        keep = self.t
        self.seek(self.total)
        self.t = keep
        return self.shown_record(self.total)

    def shown_record(self, t: int | None = None) -> "RunRecord":
        """The first ``t`` steps computed so far (default: those shown), as numpy arrays: what a
        session continuing this run with other settings keeps (``SamplingSession(..., kept=...)``)."""
        steps = self.history[:self.t if t is None else t]
        if not steps:
            raise ValueError("no step taken yet")
        return RunRecord(self.settings, probs=torch.stack([s.probs for s in steps]).numpy(),
                         chosen=torch.stack([s.chosen for s in steps]).numpy(),
                         sampled=torch.stack([s.sampled for s in steps]).numpy(),
                         grids=torch.stack([s.grid for s in steps]).numpy(),
                         log_probs=torch.stack([s.log_probs for s in steps]).numpy())

    def adopt(self, record: "RunRecord") -> None:
        """Take the steps of a run computed elsewhere (a worker, same settings): the sampler is
        deterministic given the seed, so they are the steps this session would compute."""
        if record.settings != self.settings or record.grids.shape[0] != self.total:
            raise ValueError("that run has other settings")
        self.close()
        self.history = steps_of(record, self.shape[1])

    def frames(self) -> list[np.ndarray]:
        """The animated grid after each step 1..H*W (runs the sampler to the end, keeps t)."""
        keep = self.t
        self.seek(self.total)
        frames = []
        for t in range(1, self.total + 1):
            self.t = t
            frames.append(self.grid())
        self.t = keep
        return frames


@dataclass
class RunRecord:
    """Every step of a finished run, as numpy arrays (what a worker sends to the GUI thread)."""
    settings: SamplingSettings
    probs: np.ndarray           # (T, n, K) sampling distribution at each step
    chosen: np.ndarray          # (T, n) code drawn at each step
    sampled: np.ndarray         # (T, n) bool, True where drawn
    grids: np.ndarray           # (T, n, H, W) the batch after each step
    log_probs: np.ndarray       # (T, n, K) the model's own log p at each step


def steps_of(record: RunRecord, width: int) -> list[RasterStep]:
    """The record's steps as :class:`RasterStep` (tensors sharing the record's arrays)."""
    r = {k: torch.from_numpy(getattr(record, k)) for k in ("probs", "chosen", "sampled", "grids", "log_probs")}
    return [RasterStep(position=divmod(t, width), t=t, probs=r["probs"][t], chosen=r["chosen"][t],
                       sampled=r["sampled"][t], grid=r["grids"][t], log_probs=r["log_probs"][t])
            for t in range(record.grids.shape[0])]


def nats_to_bits(nats: float) -> float:
    return nats / math.log(2.0)


# -- decoded partial grids ------------------------------------------------------------------
def fill_unsampled(grid: np.ndarray, fill_code: int = 0) -> np.ndarray:
    """A decodable copy of a partial grid: -1 cells get ``fill_code``."""
    out = np.array(grid, dtype=np.int64, copy=True)
    out[out < 0] = fill_code
    return out


def grey_unsampled(image: np.ndarray, grid: np.ndarray, grey: float = 0.5, keep: float = 0.15) -> np.ndarray:
    """Grey out the pixels of the cells not sampled yet (grid < 0) of a decoded image (C, H, W).

    Each cell owns an (H / h) x (W / w) patch (the decoder's downsampling factor); unsampled
    patches become ``grey`` with a faint ``keep`` share of what the decoder drew there.
    """
    c, height, width = image.shape
    h, w = grid.shape
    pending = np.kron(grid < 0, np.ones((height // h, width // w), dtype=bool))     # (H, W)
    out = np.array(image, dtype=np.float32, copy=True)
    out[:, pending] = grey * (1 - keep) + keep * out[:, pending]
    return out


@dataclass
class StepViews:
    """What the panel shows of one step, decoded: the partial image and the top codes' tiles."""
    image: np.ndarray            # (C, H, W) the partial grid decoded, unsampled cells greyed
    top_codes: list[int]         # the likeliest codes at the step's position, most likely first
    tiles: np.ndarray            # (len(top_codes), C, H, W) the grid with each of them there, greyed


def _candidates(grid: np.ndarray, position: tuple[int, int] | None, probs: np.ndarray | None,
                tiles: int) -> tuple[list[int], list[np.ndarray]]:
    """The likeliest codes at ``position`` and the grids [grid, grid with each of them there]."""
    top = [] if probs is None else [int(k) for k in np.argsort(-np.asarray(probs), kind="stable")[:tiles]]
    grids = [grid]
    for code in top:
        candidate = grid.copy()
        candidate[position] = code
        grids.append(candidate)
    return top, grids


def _views(images: np.ndarray, grids: list[np.ndarray], top: list[int]) -> StepViews:
    greyed = np.stack([grey_unsampled(im, g) for im, g in zip(images, grids)])
    return StepViews(greyed[0], top, greyed[1:])


def step_views(vqvae, grid: np.ndarray, position: tuple[int, int] | None, probs: np.ndarray | None,
               background_code: int, tiles: int = 4) -> StepViews:
    """Decode a partial grid (-1 = not sampled) and, at ``position``, each of the ``tiles`` likeliest
    codes of ``probs`` in its place (one batch through the decoder)."""
    top, grids = _candidates(grid, position, probs, tiles)
    return _views(decode_grids(vqvae, np.stack([fill_unsampled(g, background_code) for g in grids])), grids, top)


def run_views(vqvae, record: RunRecord, background_code: int, tiles: int = 4) -> list[StepViews]:
    """:func:`step_views` of the animated grid after every step t = 0 .. T (index 0: empty grid),
    decoded in large batches."""
    b = record.settings.index
    total, h, w = record.grids.shape[0], record.grids.shape[2], record.grids.shape[3]
    groups = [_candidates(np.full((h, w), -1, dtype=np.int64), None, None, tiles)]
    for t in range(1, total + 1):
        grid = np.full(h * w, -1, dtype=np.int64)
        grid[:t] = record.grids[t - 1, b].reshape(-1)[:t]
        groups.append(_candidates(grid.reshape(h, w), divmod(t - 1, w), record.probs[t - 1, b], tiles))
    flat = [fill_unsampled(g, background_code) for _, grids in groups for g in grids]
    images = decode_grids(vqvae, np.stack(flat))
    views, start = [], 0
    for top, grids in groups:
        views.append(_views(images[start:start + len(grids)], grids, top))
        start += len(grids)
    return views


# -- teacher forcing ------------------------------------------------------------------------
@dataclass
class TeacherForcing:
    """Every position's conditional from ONE teacher-forced pass (notes, "Teacher forcing")."""
    probs: np.ndarray           # (K, H, W) p(z_ij = k | true z_<ij)
    true_prob: np.ndarray       # (H, W) p(true z_ij | true z_<ij)
    log_likelihood: float       # sum of log true_prob, nats (= prior.log_prob(codes))
    seconds: float              # wall time of that one pass


@torch.no_grad()
def teacher_forcing(prior, codes: np.ndarray, label: int | None = None, repeats: int = 3) -> TeacherForcing:
    """One forward pass over the true grid gives every position's distribution at once
    (its time: the best of ``repeats`` passes)."""
    grid = torch.as_tensor(np.asarray(codes), dtype=torch.long)[None]             # (1, H, W)
    labels = None if label is None else torch.tensor([int(label)])
    was_training = prior.training
    prior.eval()
    try:
        seconds = math.inf
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            logits = prior.logits(grid, labels)                                    # (1, K, H, W)
            seconds = min(seconds, time.perf_counter() - start)
    finally:
        prior.train(was_training)
    log_probs = F.log_softmax(logits.float(), dim=1)[0]                            # (K, H, W)
    true_log = log_probs.gather(0, grid)[0]                                        # (H, W)
    return TeacherForcing(probs=log_probs.exp().numpy(), true_prob=true_log.exp().numpy(),
                          log_likelihood=float(true_log.sum()), seconds=seconds)


@torch.no_grad()
def decode_grids(vqvae, grids: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Decoded images (n, C, H, W) float32 in [0, 1] of code grids (n, h, w) (no -1 entries)."""
    codes = torch.as_tensor(np.asarray(grids), dtype=torch.long)
    out = [vqvae.decode(codes[s:s + batch_size]).clamp(0, 1).float() for s in range(0, len(codes), batch_size)]
    return torch.cat(out).numpy()


def sample_gallery(prior, vqvae, settings: SamplingSettings) -> tuple[np.ndarray, np.ndarray]:
    """The whole batch of a run, sampled at once and decoded: grids (n, h, w) int64, images (n, C, H, W)."""
    grids = sample_batch(prior, settings).numpy().astype(np.int64)
    return grids, decode_grids(vqvae, grids)


def precompute_run(prior, vqvae, settings: SamplingSettings, background_code: int, tiles: int = 4,
                   kept: RunRecord | None = None):
    """A generator, stoppable between steps (a GUI worker runs it): the whole run (continuing ``kept``, if
    given) as a numpy record, every step's decoded views, and the decoded batch for the gallery."""
    session = SamplingSession(prior, settings, kept=kept)
    while session.step() is not None:
        yield
    record = session.record()
    views = run_views(vqvae, record, background_code, tiles)
    yield
    return record, views, decode_grids(vqvae, record.grids[-1])
