"""What a training worker thread runs: the core's step generator, turned into events.

:func:`run_training` is a generator run in a worker thread. Everything it yields is a copy
(plain floats, numpy arrays, config dataclasses): never a live tensor or model. Sending
:data:`STOP` into it ends training after the current step with a final weights snapshot.
"""
from __future__ import annotations

import dataclasses
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Generator

import numpy as np
import torch

from explorer.core.data import DataConfig, DataError, load_data
from explorer.core.device import describe_device, pick_device
from explorer.core.models.prior import AutoregressivePrior, PriorConfig
from explorer.core.training import (PriorTrainConfig, VQVAETrainConfig, encode_for_prior_steps, new_prior,
                                   train_prior, train_vqvae)
from explorer.core.models.vqvae import VQVAE
from explorer.ui.state import snapshot

STOP = "stop"                      # send this into the generator to stop after the current step
SNAPSHOT_EVERY = 25                # steps between weight snapshots sent to the GUI


@dataclass
class TrainingJob:
    """One training run, prepared in the GUI thread; the models are private copies."""
    what: str                                  # "vqvae" or "prior"
    data: DataConfig
    vqvae_train: VQVAETrainConfig
    prior_train: PriorTrainConfig
    device: str = "auto"
    vqvae: VQVAE | None = None                 # continue this copy (vqvae mode); the encoder (prior mode)
    prior: AutoregressivePrior | None = None   # continue this copy (prior mode); None = a new prior
    snapshot_every: int = SNAPSHOT_EVERY


@dataclass
class Status:
    text: str                                  # what the worker is doing, for the status line
    fraction: float | None = None              # how far along (0..1) when known: a progress bar


@dataclass
class ModelCreated:
    which: str                                 # "vqvae" or "prior"
    config: Any                                # VQVAEConfig or PriorConfig of the new model
    weights: dict[str, np.ndarray]             # its initial weights


@dataclass
class Progress:
    which: str
    values: dict[str, Any]                     # the step record's fields (floats, numpy copies)


@dataclass
class Snapshot:
    which: str
    step: int
    weights: dict[str, np.ndarray]


@dataclass
class Finished:
    which: str
    step: int                                  # steps done (0 if stopped before the first)
    total_steps: int
    stopped: bool                              # stopped by the user before the end
    weights: dict[str, np.ndarray] | None      # the final weights (None if no model was trained)
    device: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failed:
    message: str                               # plain words for a dialog
    detail: str = ""                           # the traceback, for "Show Details"


class _Stopped(Exception):
    """The user asked to stop."""


def all_finite(weights: dict[str, np.ndarray]) -> bool:
    return all(np.isfinite(v).all() for v in weights.values() if np.issubdtype(v.dtype, np.floating))


def plain_message(exc: BaseException) -> str:
    """A message a user can act on, for the errors training can raise."""
    if isinstance(exc, torch.OutOfMemoryError):
        return ("The GPU ran out of memory. Lower the batch size or the model's width, "
                "or train on the CPU. The last good model is kept.")
    if isinstance(exc, (FloatingPointError, DataError, ValueError)):
        return str(exc)
    return f"Training failed: {type(exc).__name__}: {exc}"


def cap_torch_threads(device: torch.device) -> None:
    """Leave one core to the GUI when training on the CPU."""
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def _record_values(record: Any) -> dict[str, Any]:
    """A step record's fields without the live model."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "model"}


def run_training(job: TrainingJob) -> Generator[object, object, None]:
    """Load the data, then train, yielding Status/ModelCreated/Progress/Snapshot/Finished or Failed."""
    try:
        device = pick_device(job.device)
        cap_torch_threads(device)
        if (yield Status(f"Loading {job.data.name} …")) == STOP:
            raise _Stopped
        data = load_data(job.data)
        if len(data.train) == 0:
            raise DataError("The training set is empty: check the class filter and the limit.")
        steps = _vqvae_steps(job, data, device) if job.what == "vqvae" else _prior_steps(job, data, device)
        yield from steps
    except _Stopped:                     # before the first step: nothing trained, nothing to keep
        yield Finished(job.what, 0, 0, True, None, describe_device(device))
    except Exception as exc:  # every failure becomes a dialog; the GUI keeps the last good model
        yield Failed(plain_message(exc), traceback.format_exc())
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _vqvae_steps(job: TrainingJob, data, device: torch.device):
    c, h, w = data.image_shape
    model = job.vqvae
    if model is None:
        cfg = dataclasses.replace(job.vqvae_train.model, in_channels=c, image_size=h)
        torch.manual_seed(job.vqvae_train.seed)
        model = VQVAE(cfg)
        if (yield ModelCreated("vqvae", cfg, snapshot(model))) == STOP:
            raise _Stopped
    elif (model.config.in_channels, model.config.image_size) != (c, h) or h != w:
        raise DataError(f"The model expects {model.config.in_channels}x{model.config.image_size}x"
                        f"{model.config.image_size} images but the data are {c}x{h}x{w}: "
                        "train a new model (change the form's model settings) or change the data.")
    config = dataclasses.replace(job.vqvae_train, model=model.config)
    yield from _drive("vqvae", train_vqvae(config, data, device, model=model), model, job, device)


def _prior_steps(job: TrainingJob, data, device: torch.device):
    vqvae = job.vqvae
    if vqvae is None:
        raise ValueError("Training a prior needs a VQ-VAE: load or train one first.")
    prior = job.prior
    if prior is None:
        g = vqvae.config.grid_size
        cfg = PriorConfig(**{**job.prior_train.model.to_dict(), "num_codes": vqvae.config.num_codes,
                             "height": g, "width": g, "members": 1})     # one network, as the form shows
        torch.manual_seed(job.prior_train.seed)
        prior = new_prior(cfg, data.train.labels)
        if (yield ModelCreated("prior", cfg, snapshot(prior))) == STOP:
            raise _Stopped
    vqvae.to(device).eval()
    codes = None
    for done, total, codes in encode_for_prior_steps(vqvae, data.train.images, job.prior_train.augment_shifts):
        if (yield Status(f"Encoding the images into code grids: {done:,} / {total:,} ({done / max(total, 1):.0%})",
                         done / max(total, 1))) == STOP:
            raise _Stopped
    config = dataclasses.replace(job.prior_train, model=prior.config)
    yield from _drive("prior", train_prior(config, vqvae, data, device, prior=prior, train_codes=codes),
                      prior, job, device)


def _drive(which: str, steps, model: torch.nn.Module, job: TrainingJob, device: torch.device):
    """Forward each step as Progress, a Snapshot every few steps, and a Finished at the end."""
    record, stopped = None, False
    try:
        for record in steps:
            command = yield Progress(which, _record_values(record))
            if command != STOP and record.step % job.snapshot_every == 0 and record.step < record.total_steps:
                weights = snapshot(model)
                if all_finite(weights):
                    command = yield Snapshot(which, record.step, weights)
            if command == STOP:
                stopped = True
                break
    finally:
        steps.close()
    weights = snapshot(model)
    summary = {} if record is None else {
        "elapsed_s": record.elapsed_s, "epochs": record.epoch, "images_per_s": record.images_per_s}
    yield Finished(which, 0 if record is None else record.step, 0 if record is None else record.total_steps,
                   stopped, weights if all_finite(weights) else None, describe_device(device), summary)
