"""The quantizer lab: several discrete bottlenecks trained side by side on the same batches (no Qt).

Every method is a full :class:`~.models.vqvae.VQVAE` with the same small encoder and decoder; only
the bottleneck differs (:mod:`.models.quantizers_extra`). All start from the same seed and see the
same batches in the same order. :func:`run_lab` is a generator: after every step it yields one
:class:`LabStep` with each method's training metrics, now and then usage histograms and 2-D PCA
maps of encoder outputs and codes (the codebook panel's projection, :mod:`.projection`), and at the
end held-out results (:class:`MethodResult`) and the trained models.

Codebook collapse (notes, "VQ-VAE"): with the classic small random codebook, the nearest-neighbour
rule sends almost every z_e to the few codes nearest the data; the others never win, get no
codebook gradient and stay dead far away from the data. k-means initialisation, restarts of unused
codes, EMA updates, l2-normalised lookups, the rotation trick and FSQ are the remedies compared here.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .data import DataSplits, ImageSet
from .metrics import evaluate_vqvae
from .models.quantizers_extra import lookup_space
from .models.vqvae import VQVAE, VQVAEConfig
from .projection import CodebookMap, map_of_points


@dataclass(frozen=True)
class Method:
    """One bottleneck of the lab: a quantizer kind and its codebook-health switches."""
    name: str                      # short id, used by the CLI's --methods
    label: str                     # what the panel and the table call it
    overrides: dict = field(default_factory=dict, hash=False)   # VQVAEConfig fields
    summary: str = ""              # one line for tooltips
    codebook_init: str = ""        # "normal": codebook ~ N(0, 1) (nn.Embedding's default; a bad start)

    def model_config(self, base: VQVAEConfig) -> VQVAEConfig:
        return replace(base, **self.overrides)


_PLAIN = {"ema": False, "kmeans_init": False, "dead_code_steps": 0}
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("vq", "VQ (plain)", {"quantizer": "vq", **_PLAIN},
           "Nearest neighbour, STE, codebook + commitment loss, small random codebook (van den Oord et al. 2017)"),
    Method("vq-normal", "VQ (plain, N(0,1) init)", {"quantizer": "vq", **_PLAIN},
           "Plain VQ whose codebook starts as N(0, 1) samples (nn.Embedding's default init): far from the data",
           codebook_init="normal"),
    Method("ema", "VQ + EMA", {"quantizer": "vq", **_PLAIN, "ema": True},
           "Codebook follows moving averages of its assigned vectors (van den Oord 2017 app.; Razavi et al. 2019)"),
    Method("kmeans", "VQ + k-means", {"quantizer": "vq", **_PLAIN, "kmeans_init": True},
           "Codebook initialised by k-means on the first batch"),
    Method("restarts", "VQ + restarts", {"quantizer": "vq", **_PLAIN, "dead_code_steps": 10},
           "Codes unused for 10 steps are re-seeded from encoder outputs"),
    Method("kmeans-restarts", "VQ + k-means + restarts", {"quantizer": "vq", **_PLAIN, "kmeans_init": True,
                                                          "dead_code_steps": 10},
           "k-means initialisation and dead-code restarts"),
    Method("ema-kmeans-restarts", "VQ + EMA + k-means + restarts",
           {"quantizer": "vq", "ema": True, "kmeans_init": True, "dead_code_steps": 10},
           "The app's default VQ: EMA, k-means initialisation, dead-code restarts"),
    Method("cosine", "Cosine VQ", {"quantizer": "cosine", **_PLAIN},
           "l2-normalised vectors and codes (Yu et al. 2022, ViT-VQGAN)"),
    Method("factorised", "Factorised VQ", {"quantizer": "factorised", **_PLAIN},
           "Low-dimensional l2-normalised lookup, projected back up (Yu et al. 2022, ViT-VQGAN)"),
    Method("rotation", "VQ + rotation trick", {"quantizer": "rotation", **_PLAIN},
           "Gradient rotated and scaled from z_q onto z_e instead of copied (Fifty et al. 2024)"),
    Method("fsq", "FSQ", {"quantizer": "fsq"},
           "Finite scalar quantization: bounded rounding, implicit codebook (Mentzer et al. 2023)"),
    Method("gumbel", "Gumbel-Softmax", {"quantizer": "gumbel", "gumbel_hard": True},
           "Gumbel-Softmax with straight-through one-hot samples and an annealed temperature (Jang et al. 2017)"),
)}

PRESETS: dict[str, tuple[str, ...]] = {
    "collapse": ("vq-normal", "vq", "kmeans-restarts"),
    "STE vs rotation trick": ("vq", "rotation"),
    "VQ vs FSQ": ("vq", "ema-kmeans-restarts", "fsq"),
}
STOP = "stop"                      # send this into run_lab to end after the current step, with results
MAX_METHODS = 8                    # the panel races at most this many at once


def parse_methods(text: str) -> tuple[str, ...]:
    """'vq,ema,fsq' -> ('vq', 'ema', 'fsq'); ValueError naming an unknown or repeated method."""
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}: choose from {', '.join(METHODS)}")
    if len(set(names)) != len(names):
        raise ValueError("each method may be named once")
    if not names:
        raise ValueError("name at least one method")
    return names


@dataclass
class LabConfig:
    """What the lab trains: the methods, one codebook size K for all, and a short schedule."""
    methods: tuple[str, ...] = PRESETS["collapse"]
    num_codes: int = 64            # K for every method (FSQ levels are chosen to match it)
    steps: int = 300               # optimisation steps per method
    batch_size: int = 64           # images per step (the same batch for every method)
    lr: float = 2e-3               # Adam learning rate
    seed: int = 0                  # seeds every model's initialisation and the batch order
    code_dim: int = 16             # D
    hidden_channels: int = 32      # conv trunk width (small: the lab is about the bottleneck)
    res_channels: int = 16
    res_blocks: int = 1
    dead_window: int = 50          # a code is dead when unused for this many steps
    snapshot_every: int = 25       # steps between usage histograms and PCA maps (0 = only at the end)
    probe_images: int = 64         # held-out images behind histograms and maps
    eval_images: int = 1000        # held-out images for the final results

    def __post_init__(self) -> None:
        self.methods = tuple(self.methods)
        parse_methods(",".join(self.methods))
        VQVAEConfig.check_field("num_codes", self.num_codes)
        for name in ("steps", "batch_size", "probe_images", "eval_images", "dead_window"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1")

    def model_config(self, method: str, image_shape: tuple[int, int, int]) -> VQVAEConfig:
        """The full VQ-VAE config of ``method`` for images of ``image_shape`` (C, H, W)."""
        c, h, _ = image_shape
        downsample = 4 if h % 4 == 0 else (2 if h % 2 == 0 else 1)
        base = VQVAEConfig(in_channels=c, image_size=h, downsample=downsample, hidden_channels=self.hidden_channels,
                           res_channels=self.res_channels, res_blocks=self.res_blocks, num_codes=self.num_codes,
                           code_dim=self.code_dim,
                           # Gumbel: anneal tau from 1 to 0.1 over the first 80 % of the run
                           tau_rate=math.log(10.0) / max(1.0, 0.8 * self.steps))
        return METHODS[method].model_config(base)


@dataclass
class MethodMetrics:
    """One method after one training step (its batch)."""
    name: str
    recon_mse: float               # ||x - D(z_q)||^2 per pixel on this batch
    perplexity: float              # exp(entropy) of this batch's code histogram
    codes_used: int                # distinct codes in this batch
    dead_codes: int                # codes unused for the last ``dead_window`` steps
    seconds: float                 # training time of this method so far


@dataclass
class MethodSnapshot:
    """Codebook usage and a PCA map of one method on the probe images."""
    name: str
    counts: np.ndarray             # (K,) codes chosen on the probe images
    map: CodebookMap               # encoder outputs and codes in the lookup space, PCA-projected


@dataclass
class MethodResult:
    """Held-out results of one trained method (the table's row; the CLI's JSON object)."""
    method: str
    label: str
    mse: float                     # held-out reconstruction MSE per pixel, images in [0, 1]
    codes_used: int                # distinct codes on the held-out images
    codes_used_fraction: float     # codes_used / K
    perplexity: float              # exp(entropy) of the held-out code histogram
    dead_codes: int                # K - codes_used
    seconds: float                 # training time
    seconds_per_step: float
    bits_per_image: float          # h * w * log2 K: a uniform code for the grid

    def as_json(self) -> dict:
        return {"method": self.method, "mse": self.mse, "codes_used": self.codes_used,
                "codes_used_fraction": self.codes_used_fraction, "perplexity": self.perplexity,
                "dead_codes": self.dead_codes, "seconds": self.seconds, "seconds_per_step": self.seconds_per_step,
                "bits_per_image": self.bits_per_image}


@dataclass
class LabStep:
    """What the lab reports after one step (numpy and plain floats only, except ``models``)."""
    step: int
    total_steps: int
    metrics: list[MethodMetrics]
    snapshots: list[MethodSnapshot] | None = None      # every ``snapshot_every`` steps and at the end
    results: list[MethodResult] | None = None          # only in the last step
    models: dict[str, VQVAE] | None = field(default=None, repr=False)   # the last step: trained copies, CPU
    stopped: bool = False                              # the last step came early: the user stopped the run
    examples: ImageSet | None = field(default=None, repr=False)   # the last step: a few held-out images (copies)


def bits_per_image(cfg: VQVAEConfig) -> float:
    """log2 K bits per cell of an h x w grid: what a uniform code of the grid costs."""
    return cfg.grid_size ** 2 * math.log2(cfg.num_codes)


@torch.no_grad()
def method_snapshot(name: str, model: VQVAE, images: torch.Tensor, max_points: int = 3000) -> MethodSnapshot:
    """Usage counts and a PCA map (axes fitted on the encoder outputs, as the codebook panel does)."""
    was = model.training
    model.eval()
    try:
        z = model.encode_latents(images)
        points, book, soft = lookup_space(model.quantizer, z)
        quant = model.quantizer(z)                 # eval mode: no codebook update
    finally:
        model.train(was)
    counts = quant.counts.cpu().numpy().astype(np.int64)
    assign = quant.indices.reshape(-1).cpu().numpy()   # the code each point snaps to
    cmap = map_of_points(points.cpu().numpy(), assign, book.cpu().numpy(), soft, max_points, seed=0, width=240)
    return MethodSnapshot(name=name, counts=counts, map=cmap)


def run_lab(config: LabConfig, data: DataSplits) -> Iterator[LabStep]:
    """Train every method of ``config`` for ``config.steps`` steps on the same batches; yield after each step.

    Each method minimises its model's loss (notes, "VQ-VAE: training objective": reconstruction +
    codebook + beta commitment; FSQ: reconstruction only; Gumbel: reconstruction + KL to uniform)
    with its own Adam optimiser. Sending :data:`STOP` into the generator ends the run after the current
    step with a last record holding held-out results; simply not asking for more ends it without.
    """
    if len(data.train) == 0:
        raise ValueError("the training set is empty")
    held_out = data.val if len(data.val) else data.train
    shape = tuple(data.train.images.shape[1:])
    models: dict[str, VQVAE] = {}
    optimisers: dict[str, torch.optim.Optimizer] = {}
    for name in config.methods:
        torch.manual_seed(config.seed)               # the same encoder/decoder start for every method
        model = VQVAE(config.model_config(name, shape)).train()
        if METHODS[name].codebook_init == "normal":
            with torch.no_grad():
                model.quantizer.codebook.normal_()
                model.quantizer.ema_sums.copy_(model.quantizer.codebook)
        models[name] = model
        optimisers[name] = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    k = config.num_codes
    since_used = {name: torch.zeros(k, dtype=torch.long) for name in config.methods}
    seconds = dict.fromkeys(config.methods, 0.0)
    gen = torch.Generator().manual_seed(config.seed)
    n = len(data.train)
    perm, pos = torch.randperm(n, generator=gen), 0
    probe = held_out.float_images(slice(0, min(config.probe_images, len(held_out))))
    for step in range(config.steps):
        if pos + config.batch_size > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        x = data.train.float_images(perm[pos:pos + config.batch_size])
        pos += config.batch_size
        metrics = []
        for name, model in models.items():
            start = time.perf_counter()
            torch.manual_seed(config.seed * 1_000_003 + step)    # restarts and Gumbel noise: same draws per step
            model.set_step(step)
            out = model(x)
            loss = out.loss
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{METHODS[name].label}: the loss became {loss.item()} at step {step + 1}; "
                                         "try a lower learning rate")
            opt = optimisers[name]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            seconds[name] += time.perf_counter() - start
            counts = out.quant.counts.detach()
            since_used[name] = torch.where(counts > 0, torch.zeros_like(since_used[name]), since_used[name] + 1)
            metrics.append(MethodMetrics(
                name=name, recon_mse=out.recon_loss.item(), perplexity=out.quant.perplexity.item(),
                codes_used=int((counts > 0).sum()), dead_codes=int((since_used[name] >= config.dead_window).sum()),
                seconds=seconds[name]))
        last = step + 1 == config.steps
        record = LabStep(step=step + 1, total_steps=config.steps, metrics=metrics)
        if not last and config.snapshot_every > 0 and ((step + 1) % config.snapshot_every == 0 or step == 0):
            record.snapshots = [method_snapshot(name, model, probe) for name, model in models.items()]
        if last:
            _finish(record, models, probe, held_out, config.eval_images, seconds)
        command = yield record
        if command == STOP and not last:            # stop early: results of what was trained so far
            final = LabStep(step=step + 1, total_steps=config.steps, metrics=metrics, stopped=True)
            _finish(final, models, probe, held_out, config.eval_images, seconds)
            yield final
            return


EXAMPLES = 256                     # held-out images handed over with the trained models (a bundle's examples)


def _finish(record: LabStep, models: dict[str, VQVAE], probe: torch.Tensor, held_out: ImageSet, eval_images: int,
            seconds: dict[str, float]) -> None:
    images = held_out.images[:eval_images]
    record.examples = ImageSet(held_out.images[:EXAMPLES].clone(), held_out.labels[:EXAMPLES].clone())
    record.snapshots = [method_snapshot(name, model, probe) for name, model in models.items()]
    record.results = [held_out_result(name, model, images, seconds[name], record.step)
                      for name, model in models.items()]
    record.models = {name: copy.deepcopy(model).eval() for name, model in models.items()}


def held_out_result(name: str, model: VQVAE, images: torch.Tensor, seconds: float, steps: int) -> MethodResult:
    """MSE, codes used and perplexity on held-out uint8 images."""
    m = evaluate_vqvae(model, images)
    k = model.config.num_codes
    used = int(m["codes_used_count"])
    return MethodResult(method=name, label=METHODS[name].label, mse=float(m["mse"]), codes_used=used,
                        codes_used_fraction=used / k, perplexity=float(m["perplexity"]), dead_codes=k - used,
                        seconds=seconds, seconds_per_step=seconds / max(1, steps),
                        bits_per_image=bits_per_image(model.config))


def compare(config: LabConfig, data: DataSplits) -> list[MethodResult]:
    """Run the lab to the end and return the held-out results (the CLI's compare-quantizers)."""
    results: list[MethodResult] = []
    for record in run_lab(config, data):
        if record.results is not None:
            results = record.results
    return results


__all__ = ["LabConfig", "LabStep", "METHODS", "MAX_METHODS", "Method", "MethodMetrics", "MethodResult",
           "MethodSnapshot", "PRESETS", "STOP", "bits_per_image", "compare", "held_out_result", "method_snapshot",
           "parse_methods", "run_lab"]
