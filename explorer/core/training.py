"""Training loops as step generators (no Qt): the app's worker and the CLI both drive them.

Each loop yields a metrics record after every optimisation step. Stopping is simply not
asking for the next step; pausing is not asking yet. Resuming starts from a bundle's
model passed in as ``model``/``prior``.

Under torch.distributed (``torchrun``) the model is wrapped in DistributedDataParallel,
each rank draws its own shard of every batch from one seeded permutation, and only the
caller on rank 0 needs to look at the metrics.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import ClassVar, Iterator

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from .config import JsonConfig, Limit
from .data import DataSplits
from .device import pick_device
from .metrics import encode_images, evaluate_prior, evaluate_vqvae
from .models.prior import AutoregressivePrior, PriorConfig, build_prior
from .models.vqvae import VQVAE, VQVAEConfig

# Limits of the schedule fields, shared by both training configs (and the command line's flags).
_SCHEDULE_LIMITS: dict[str, Limit] = {
    "epochs": Limit(float, 0, 100_000), "max_steps": Limit(int, 0, 10 ** 9), "batch_size": Limit(int, 1, 65536),
    "lr": Limit(float, 0, math.inf, low_open=True), "warmup_steps": Limit(int, 0, 10 ** 9),
    "final_lr_ratio": Limit(float, 0, 1), "grad_clip": Limit(float, 0, 1e6), "val_every": Limit(int, 1, 10 ** 9),
    "seed": Limit(int, 0, 2 ** 63 - 1),
}


@dataclass
class VQVAETrainConfig(JsonConfig):
    model: VQVAEConfig = field(default_factory=VQVAEConfig)  # architecture and bottleneck
    epochs: float = 40.0           # passes over the training set (fractions allowed)
    max_steps: int = 0             # if > 0, train exactly this many steps instead
    batch_size: int = 128          # images per step (per process under DDP)
    lr: float = 2e-3               # peak Adam learning rate
    warmup_steps: int = 100        # linear warm-up, then cosine decay
    final_lr_ratio: float = 0.05   # learning rate at the end, as a fraction of ``lr``
    grad_clip: float = 1.0         # clip the gradient norm (0 = off)
    val_every: int = 200           # validate (held-out MSE) every this many steps
    early_val_step: int = 10       # also validate after this step, so reconstructions show within seconds (0 = off)
    preview_size: int = 16         # validation images whose reconstructions are reported
    seed: int = 0                  # seeds the model init and the batch order

    LIMITS: ClassVar[dict[str, Limit]] = {**_SCHEDULE_LIMITS, "preview_size": Limit(int, 0, 256)}

    def __post_init__(self) -> None:
        self.check_fields()


@dataclass
class PriorTrainConfig(JsonConfig):
    model: PriorConfig = field(default_factory=PriorConfig)  # prior architecture
    epochs: float = 60.0           # passes over the (augmented) code grids
    max_steps: int = 0             # if > 0, train exactly this many steps instead
    batch_size: int = 128          # code grids per step
    lr: float = 1e-3               # peak Adam learning rate
    warmup_steps: int = 100        # linear warm-up, then cosine decay
    final_lr_ratio: float = 0.05   # learning rate at the end, as a fraction of ``lr``
    grad_clip: float = 1.0         # clip the gradient norm (0 = off)
    val_every: int = 200           # validate (held-out NLL, accuracy) every this many steps
    augment_shifts: int = 1        # also encode training images shifted by up to +-N pixels
    seed: int = 0                  # seeds the model init and the batch order
    label_weight: float = 0.8      # class-heads prior: weight of -log p_y(z) for the label y (the rest: -log p(z))

    LIMITS: ClassVar[dict[str, Limit]] = {**_SCHEDULE_LIMITS, "augment_shifts": Limit(int, 0, 4),
                                          "label_weight": Limit(float, 0, 1)}

    def __post_init__(self) -> None:
        self.check_fields()


@dataclass
class VQVAEStep:
    """Metrics after one VQ-VAE step (plain floats and numpy copies, plus the live model)."""
    step: int
    total_steps: int
    epoch: float
    recon_loss: float
    codebook_loss: float
    commitment_loss: float
    kl_loss: float
    perplexity: float
    usage: float                   # fraction of codes used in this batch
    dead_codes: int                # codes unused for the last 100 steps
    lr: float
    images_per_s: float
    elapsed_s: float
    eta_s: float
    tau: float | None              # Gumbel temperature (None for nearest-neighbour VQ)
    code_counts: np.ndarray        # (K,) codes chosen in this batch
    val_mse: float | None = None   # held-out MSE, on validation steps
    preview: tuple[np.ndarray, np.ndarray] | None = None  # (inputs, reconstructions) on validation steps
    model: nn.Module | None = field(default=None, repr=False)  # the live model: copy before sending anywhere

    @property
    def total_loss(self) -> float:
        return self.recon_loss + self.codebook_loss + self.commitment_loss + self.kl_loss


@dataclass
class PriorStep:
    step: int
    total_steps: int
    epoch: float
    loss: float                    # teacher-forced NLL, nats per latent, this batch
    lr: float
    images_per_s: float
    elapsed_s: float
    eta_s: float
    val_nll: float | None = None   # held-out NLL, nats per latent, on validation steps
    val_accuracy: float | None = None  # held-out accuracy of the most likely code
    model: nn.Module | None = field(default=None, repr=False)


# --------------------------------------------------------------------------------------
def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _validate_now(step: int, total: int, every: int, early: int = 0) -> bool:
    """Validate every ``every`` steps and at the end; also once at step ``early`` if that comes first."""
    return step % every == 0 or step == total or (0 < early < every and step == early)


def _lr_at(step: int, total: int, peak: float, warmup: int, final_ratio: float) -> float:
    """Linear warm-up to ``peak`` then cosine decay to ``final_ratio * peak``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class _BatchOrder:
    """Seeded epoch permutations; each DDP rank takes its own slice of every global batch."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.rank, self.world = _rank_world()
        self.n, self.batch, self.gen = n, batch_size, torch.Generator().manual_seed(seed)
        self.perm, self.pos = torch.randperm(n, generator=self.gen), 0

    def next(self) -> torch.Tensor:
        global_batch = self.batch * self.world
        if self.pos + global_batch > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.gen), 0
        chunk = self.perm[self.pos:self.pos + global_batch]
        self.pos += global_batch
        return chunk[self.rank * self.batch:(self.rank + 1) * self.batch]


def _total_steps(epochs: float, max_steps: int, n: int, batch: int) -> int:
    if max_steps > 0:
        return max_steps
    _, world = _rank_world()
    return max(1, int(math.ceil(epochs * n / (batch * world))))


def _wrap_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    if _rank_world()[1] > 1:
        from torch.nn.parallel import DistributedDataParallel
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return model


def _all_finite(loss: torch.Tensor) -> bool:
    """Whether the loss is finite on every DDP rank (all ranks then stop together)."""
    ok = torch.isfinite(loss.detach()).float().reshape(1)
    if _rank_world()[1] > 1:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item() > 0)


def _step_optimizer(opt: torch.optim.Optimizer, params, loss: torch.Tensor, clip: float, lr: float,
                    restore: dict[str, torch.Tensor] | None = None, module: nn.Module | None = None) -> None:
    """One optimiser step; on a non-finite loss, put back ``restore`` (state that the forward
    pass already changed, e.g. EMA codebook buffers) and raise FloatingPointError."""
    if not _all_finite(loss):
        if restore is not None and module is not None:
            module.load_state_dict(restore)
        raise FloatingPointError(f"the loss became {loss.item()} (not finite); training stopped, "
                                 "the last good model is kept. Try a lower learning rate.")
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()


# --------------------------------------------------------------------------------------
def train_vqvae(config: VQVAETrainConfig, data: DataSplits, device: str | torch.device = "auto",
                model: VQVAE | None = None) -> Iterator[VQVAEStep]:
    """Train a VQ-VAE, yielding a :class:`VQVAEStep` after every step.

    Minimises recon + ||sg[z_e] - z_q||^2 + beta ||z_e - sg[z_q]||^2 (notes, "VQ-VAE:
    training objective"); the codebook term is replaced by EMA updates when enabled.
    """
    device = pick_device(device) if isinstance(device, str) else device
    torch.manual_seed(config.seed)
    if model is None:
        model = VQVAE(config.model)
    model.to(device).train()
    net = _wrap_ddp(model, device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr)
    train = data.train
    total = _total_steps(config.epochs, config.max_steps, len(train), config.batch_size)
    order = _BatchOrder(len(train), config.batch_size, config.seed)
    k = model.config.num_codes
    since_used = torch.zeros(k, dtype=torch.long)
    n_prev = config.preview_size
    preview_x = data.val.float_images(slice(0, n_prev)) if len(data.val) else None
    start, images_seen = time.perf_counter(), 0
    for step in range(total):
        lr = _lr_at(step, total, config.lr, config.warmup_steps, config.final_lr_ratio)
        model.set_step(step)
        x = train.float_images(order.next()).to(device, non_blocking=True)
        # The VQ forward pass updates the codebook (EMA, k-means init, restarts): keep a copy
        # (K x D, cheap) so a failing step leaves the last good model untouched.
        before = {k: v.clone() for k, v in model.quantizer.state_dict().items()}
        out = net(x)
        _step_optimizer(opt, params, out.loss, config.grad_clip, lr, restore=before, module=model.quantizer)
        images_seen += x.shape[0] * _rank_world()[1]
        counts = out.quant.counts.detach().cpu()
        since_used = torch.where(counts > 0, torch.zeros_like(since_used), since_used + 1)
        elapsed = time.perf_counter() - start
        record = VQVAEStep(
            step=step + 1, total_steps=total, epoch=(step + 1) * config.batch_size * _rank_world()[1] / len(train),
            recon_loss=out.recon_loss.item(), codebook_loss=out.quant.codebook_loss.item(),
            commitment_loss=out.quant.commitment_loss.item(), kl_loss=out.quant.kl_loss.item(),
            perplexity=out.quant.perplexity.item(), usage=out.quant.usage.item(),
            dead_codes=int((since_used >= 100).sum()), lr=lr, images_per_s=images_seen / elapsed,
            elapsed_s=elapsed, eta_s=elapsed / (step + 1) * (total - step - 1),
            tau=getattr(model.quantizer, "tau", None) if model.config.quantizer == "gumbel" else None,
            code_counts=counts.numpy().copy(), model=model)
        if _validate_now(step + 1, total, config.val_every, config.early_val_step):
            if len(data.val):
                record.val_mse = evaluate_vqvae(model, data.val.images)["mse"]
            if preview_x is not None:
                with torch.no_grad():
                    model.eval()
                    recon = model(preview_x.to(device)).reconstruction.cpu().numpy()
                    model.train()
                record.preview = (preview_x.numpy().copy(), recon)
        yield record


def encode_for_prior(vqvae: VQVAE, images: torch.Tensor, shifts: int = 0) -> torch.Tensor:
    """Code grids of ``images``; with ``shifts`` > 0 also of copies shifted by -N..N pixels."""
    for _done, _total, grids in encode_for_prior_steps(vqvae, images, shifts):
        pass
    return grids


def encode_for_prior_steps(vqvae: VQVAE, images: torch.Tensor, shifts: int = 0,
                           chunk: int = 1000) -> Iterator[tuple[int, int, torch.Tensor | None]]:
    """:func:`encode_for_prior` with progress: yields ``(images encoded, images to encode, None)``
    after every chunk, and finally ``(total, total, grids)`` (the same grids, same order)."""
    offsets = [(0, 0)] + [(dy, dx) for dy in range(-shifts, shifts + 1) for dx in range(-shifts, shifts + 1)
                          if (dy, dx) != (0, 0)]
    total, done, grids = len(offsets) * images.shape[0], 0, []
    for dy, dx in offsets:
        for start in range(0, images.shape[0], chunk):
            part = images[start:start + chunk]
            if (dy, dx) != (0, 0):
                part = torch.roll(part, shifts=(dy, dx), dims=(2, 3))
            grids.append(encode_images(vqvae, part))
            done += part.shape[0]
            yield done, total, None
    yield total, total, torch.cat(grids) if grids else torch.zeros(0, dtype=torch.long)


def check_class_labels(config: PriorConfig, labels: torch.Tensor) -> None:
    """ValueError unless every label is a class of a prior that learns from them (class-conditional
    or class heads); other priors ignore labels."""
    classes = config.num_classes or config.class_heads
    if classes and labels.numel() and bool(((labels < 0) | (labels >= classes)).any()):
        raise ValueError(f"this prior learns from the images' classes: every training image needs a label "
                         f"in 0..{classes - 1}, and some have none or another")


def new_prior(config: PriorConfig, labels: torch.Tensor) -> AutoregressivePrior:
    """An untrained prior for ``config``; one with class heads takes its class prior pi from the
    training ``labels`` (their frequencies)."""
    check_class_labels(config, labels)
    prior = build_prior(config)
    if config.class_heads:
        prior.set_class_prior(labels)
    return prior


def train_prior(config: PriorTrainConfig, vqvae: VQVAE, data: DataSplits, device: str | torch.device = "auto",
                prior: AutoregressivePrior | None = None,
                train_codes: torch.Tensor | None = None) -> Iterator[PriorStep]:
    """Train a PixelCNN prior on the VQ-VAE's code grids with teacher forcing.

    Minimises L = -sum_{i,j} log p(z_ij | z_<ij) (notes, "PixelCNN: Training"), reported in
    nats per latent; a class-heads prior minimises w (-log p_y(z)) + (1 - w) (-log p(z)) for the
    images' labels y, w = ``config.label_weight`` (:mod:`.models.class_heads`), and a new one takes
    its class prior pi from the training labels. The data are encoded into code grids once, then cached; ``train_codes``:
    already encoded (``encode_for_prior(vqvae, data.train.images, config.augment_shifts)``).
    """
    device = pick_device(device) if isinstance(device, str) else device
    torch.manual_seed(config.seed)
    vqvae = vqvae.to(device).eval()
    if train_codes is None:
        train_codes = encode_for_prior(vqvae, data.train.images, config.augment_shifts)
    reps = train_codes.shape[0] // max(1, len(data.train))
    train_labels = data.train.labels.repeat(reps) if reps else data.train.labels
    val_codes = encode_images(vqvae, data.val.images) if len(data.val) else None
    cfg = config.model
    if prior is not None:
        check_class_labels(prior.config, data.train.labels)
    else:                                                           # new_prior checks the labels
        h, w = train_codes.shape[1:]
        cfg = PriorConfig(**{**cfg.to_dict(), "num_codes": vqvae.config.num_codes, "height": h, "width": w})
        prior = new_prior(cfg, data.train.labels)
    prior.to(device).train()
    conditional = prior.config.num_classes > 0
    class_heads = prior.config.class_heads > 0
    net = _wrap_ddp(prior, device)
    params = [p for p in prior.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr)
    total = _total_steps(config.epochs, config.max_steps, train_codes.shape[0], config.batch_size)
    order = _BatchOrder(train_codes.shape[0], config.batch_size, config.seed)
    start, seen = time.perf_counter(), 0
    for step in range(total):
        lr = _lr_at(step, total, config.lr, config.warmup_steps, config.final_lr_ratio)
        idx = order.next()
        codes = train_codes[idx].to(device)
        labels = train_labels[idx].to(device) if conditional or class_heads else None
        if class_heads:
            loss = net(codes, labels, label_weight=config.label_weight)
        else:
            loss = F.cross_entropy(net(codes, labels), codes)
        _step_optimizer(opt, params, loss, config.grad_clip, lr)
        seen += codes.shape[0] * _rank_world()[1]
        elapsed = time.perf_counter() - start
        record = PriorStep(step=step + 1, total_steps=total,
                           epoch=(step + 1) * config.batch_size * _rank_world()[1] / train_codes.shape[0],
                           loss=loss.item(), lr=lr, images_per_s=seen / elapsed, elapsed_s=elapsed,
                           eta_s=elapsed / (step + 1) * (total - step - 1), model=prior)
        if val_codes is not None and ((step + 1) % config.val_every == 0 or step + 1 == total):
            ev = evaluate_prior(prior, val_codes, data.val.labels if conditional else None)
            record.val_nll, record.val_accuracy = ev["nll"], ev["accuracy"]
        yield record
