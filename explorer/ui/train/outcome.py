"""How a training run changes the loaded bundle (Qt-free helpers used by the training panel)."""
from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import Any

import numpy as np
import torch

from explorer.core.bundle import Bundle
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE

from .training_job import Finished, TrainingJob
from .settings import TrainSettings, same_architecture


def load_weights(model: torch.nn.Module, weights: dict[str, np.ndarray]) -> torch.nn.Module:
    """``model`` with numpy weights copied in, in eval mode."""
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=True)
    return model.eval()


def bundle_with_new_vqvae(old: Bundle | None, vqvae: VQVAE, data: dict) -> Bundle:
    """A new unsaved bundle around a freshly initialised VQ-VAE.

    The old prior is dropped: a new VQ-VAE assigns new meanings to the code indices (and K or
    the grid may differ), so a prior over the old codes no longer describes anything.
    The shipped example images are kept when they still fit the model.
    """
    config = vqvae.config
    examples = None
    if old is not None and old.examples is not None:
        shape = tuple(old.examples.images.shape[1:])
        if shape == (config.in_channels, config.image_size, config.image_size):
            examples = old.examples
    name = f"{data.get('name') or 'model'} (new)"
    return Bundle(vqvae=vqvae.eval(), prior=None, name=name, data=dict(data),
                  history={}, metrics={}, examples=examples, path=None)


def with_new_prior(bundle: Bundle, config: PriorConfig, weights: dict[str, np.ndarray]) -> Bundle:
    """The same bundle with a new prior (its old held-out prior metrics no longer apply)."""
    out = copy.copy(bundle)
    out.prior = load_weights(build_prior(config), weights)
    out.metrics = _without_prior_metrics(bundle.metrics)
    return out


def _without_prior_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not any(w in k for w in ("prior", "nll", "bits"))}


def can_continue(settings: TrainSettings, bundle: Bundle | None) -> bool:
    """Whether Start can continue from the bundle's weights with the form's architecture."""
    if bundle is None or not settings.continue_training:
        return False
    if settings.mode == "vqvae":
        return same_architecture(settings.vqvae.model, bundle.vqvae.config, ignore=("in_channels", "image_size"))
    return bundle.prior is not None and same_architecture(
        settings.prior.model, bundle.prior.config, ignore=("num_codes", "height", "width"))


def replaced_by_start(settings: TrainSettings, bundle: Bundle | None) -> str:
    """What Start would throw away of the loaded model ('' = nothing), as a sentence for a question."""
    if bundle is None or can_continue(settings, bundle):
        return ""
    if settings.mode == "vqvae":
        return "Training a new VQ-VAE replaces the loaded model (and drops its prior)."
    if bundle.prior is not None:
        return "Training a new prior replaces the loaded prior."
    return ""


def was_trained(bundle: Bundle | None, which: str) -> bool:
    """Whether the bundle's VQ-VAE ("vqvae") or prior ("prior") has been trained (not freshly made)."""
    if bundle is None or (which == "prior" and bundle.prior is None):
        return False
    if which == "vqvae":
        return bool(bundle.metrics.get("mse") or bundle.history.get("steps") or bundle.history.get("vqvae_training"))
    return bool(bundle.metrics.get("prior_nll") or bundle.history.get("prior") or bundle.history.get("prior_training"))


def fine_tune_lr(settings: TrainSettings, bundle: Bundle | None) -> float | None:
    """The learning rate Start continues a trained model with, or None (the form's own rate).

    A trained model sits in a minimum its schedule ended at ``lr * final_lr_ratio``; a new
    warm-up to the full rate knocks it out (held-out MSE of the shipped VQ-VAE: 0.00483 ->
    0.00515 after 150 steps at 2e-3, 0.00485 at 1e-4). So continuing fine-tunes at the rate
    the schedule ends at.
    """
    if not can_continue(settings, bundle) or not was_trained(bundle, settings.mode):
        return None
    train = settings.vqvae if settings.mode == "vqvae" else settings.prior
    return train.lr * train.final_lr_ratio


def make_job(settings: TrainSettings, bundle: Bundle | None) -> TrainingJob:
    """The job Start runs: private deep copies of the models it continues from or encodes with.

    Continuing a trained model uses :func:`fine_tune_lr`; a new prior has one member (the form
    has no ensembles: ``explorer ensemble`` makes them), whatever the loaded bundle's prior was.
    """
    job = TrainingJob(what=settings.mode, data=settings.data, vqvae_train=settings.vqvae,
                      prior_train=dataclasses.replace(settings.prior, model=dataclasses.replace(
                          settings.prior.model, members=1)), device=settings.device)
    lr = fine_tune_lr(settings, bundle)
    if lr is not None and settings.mode == "vqvae":
        job.vqvae_train = dataclasses.replace(settings.vqvae, lr=lr)
    elif lr is not None:
        job.prior_train = dataclasses.replace(settings.prior, lr=lr)
    continuing = can_continue(settings, bundle)
    if settings.mode == "vqvae":
        job.vqvae = copy.deepcopy(bundle.vqvae) if continuing else None
    else:
        job.vqvae = copy.deepcopy(bundle.vqvae) if bundle is not None else None
        job.prior = copy.deepcopy(bundle.prior) if continuing else None
    return job


def plan_text(settings: TrainSettings, bundle: Bundle | None) -> str:
    """One sentence saying what Start will do."""
    if settings.mode == "prior":
        if bundle is None:
            return "Load or train a VQ-VAE first: the prior models its codes."
        if can_continue(settings, bundle):
            return (f"Start continues training the loaded prior ({bundle.prior.config.describe()})"
                    f"{_fine_tune(settings, bundle)}.")
        kind, heads = settings.prior.model.kind, settings.prior.model.class_heads
        name = ("transformer" if kind == "transformer" else kind + " PixelCNN") + " prior" + \
            (f" with {heads} class heads, mixed," if heads else "")
        return (f"Start trains a new {name} over the loaded VQ-VAE's codes "
                f"(K={bundle.vqvae.config.num_codes}, {bundle.vqvae.config.grid_size}×{bundle.vqvae.config.grid_size} "
                "grid) with the form's settings.")
    if can_continue(settings, bundle):
        return f"Start continues training the loaded VQ-VAE{_fine_tune(settings, bundle)}."
    why = "" if bundle is None or not settings.continue_training else " (the form's architecture differs)"
    return f"Start trains a new VQ-VAE{why}; the loaded model is replaced and its prior dropped."


def planned_steps(settings: TrainSettings, n_train: int | None) -> int | None:
    """The steps Start will train (as the core's schedule counts them), None if the data size is unknown."""
    train = settings.vqvae if settings.mode == "vqvae" else settings.prior
    if train.max_steps > 0:
        return train.max_steps
    if not n_train:
        return None
    grids = n_train * (2 * settings.prior.augment_shifts + 1) ** 2 if settings.mode == "prior" else n_train
    return max(1, math.ceil(train.epochs * grids / train.batch_size))


def known_speed(settings: TrainSettings, bundle: Bundle | None) -> float | None:
    """Images (or grids) per second the loaded model last trained at, when Start continues it."""
    if bundle is None or not can_continue(settings, bundle):
        return None
    sections = ("vqvae_training",) if settings.mode == "vqvae" else ("prior_training", "prior")
    for record in [bundle.history.get(k) for k in sections] + ([bundle.history] if settings.mode == "vqvae" else []):
        if isinstance(record, dict) and isinstance(record.get("images_per_s"), (int, float)) \
                and record["images_per_s"] > 0:
            return float(record["images_per_s"])
    return None


def length_text(settings: TrainSettings, n_train: int | None, images_per_s: float | None) -> str:
    """'3 000 steps, about 9 min' (or without the time when no speed is known), '' if unknown."""
    steps = planned_steps(settings, n_train)
    if steps is None:
        return ""
    text = f"{steps:,} steps".replace(",", " ")
    if images_per_s:
        train = settings.vqvae if settings.mode == "vqvae" else settings.prior
        minutes = steps * train.batch_size / images_per_s / 60
        text += f", about {minutes:.0f} min" if minutes >= 1.5 else ", about 1 min" if minutes >= 0.5 else \
            ", under a minute"
        text += " on this computer"
    return text


def _fine_tune(settings: TrainSettings, bundle: Bundle | None) -> str:
    lr = fine_tune_lr(settings, bundle)
    if lr is None:
        return ""
    return (f", fine-tuning at learning rate {lr:.2g} (the rate its schedule ends at: the full rate "
            "would undo its training)")


def record_training(bundle: Bundle, done: Finished, settings: TrainSettings) -> None:
    """Note in the bundle's history how it was trained (kept in config.json when saved)."""
    section = "vqvae_training" if done.which == "vqvae" else "prior_training"
    train = settings.vqvae if done.which == "vqvae" else settings.prior
    config = {k: v for k, v in dataclasses.asdict(train).items() if k != "model"}
    previous = bundle.history.get(section) if isinstance(bundle.history.get(section), dict) else {}
    bundle.history[section] = {
        "steps": int(previous.get("steps", 0) or 0) + done.step,
        "stopped_early": done.stopped, "device": done.device, "trained_with": "app",
        "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"), "config": config, **done.summary,
    }
    # Held-out metrics of the old weights no longer apply.
    if done.which == "vqvae":
        bundle.data = settings.data.to_dict()
        bundle.metrics = {}
    else:
        bundle.metrics = _without_prior_metrics(bundle.metrics)


def describe_metrics(metrics: dict[str, Any], limit: int = 4) -> str:
    """'held-out MSE 0.0042 · perplexity 19.1 · 32 codes used (100%)' from a bundle's metrics."""
    m = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    parts = []
    if "mse" in m:
        parts.append(f"held-out MSE {m.pop('mse'):.4f}")
    if "perplexity" in m:
        parts.append(f"perplexity {m.pop('perplexity'):.1f}")
    if "codes_used_count" in m:
        share = m.pop("codes_used", None)
        parts.append(f"{int(m.pop('codes_used_count'))} codes used" + (f" ({share:.0%})" if share is not None else ""))
    parts += [f"{k.replace('_', ' ')} {v:.4g}" for k, v in m.items()]
    return " · ".join(parts[:limit])
