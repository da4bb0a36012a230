"""``train vqvae`` and ``train prior``: run a training generator with a progress bar, save a bundle.

Under ``torchrun`` every rank trains (the core wraps the model in DDP and shards the
batches); only rank 0 draws the progress bar, evaluates and saves. Ctrl+C stops training
and saves what was trained so far; a loss that becomes NaN stops it with a plain message.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.distributed as dist

from ..core import distributed
from ..core.bundle import Bundle, check_save_target, load_bundle
from ..core.data import DataSplits, ImageSet, load_data
from ..core.device import describe_device
from ..core.metrics import encode_images, evaluate_prior, evaluate_vqvae
from ..core.models.prior import PriorConfig
from ..core.training import PriorTrainConfig, VQVAETrainConfig, train_prior, train_vqvae
from ..core.models.vqvae import VQVAEConfig
from .common import (EXIT_INTERRUPTED, EXIT_USER_ERROR, CliError, ProgressBar, all_finite, check_data_settings,
                     check_image_shape, data_config_from, describe_data, prior_metrics)

_SCHEDULE_FLAGS = ("epochs", "max_steps", "batch_size", "lr", "warmup_steps", "val_every", "seed")
_VQVAE_FLAGS = {"num_codes": "num_codes", "code_dim": "code_dim", "hidden": "hidden_channels",
                "res_channels": "res_channels", "res_blocks": "res_blocks", "downsample": "downsample",
                "encoder_res_blocks": "encoder_res_blocks", "encoder_kernel": "encoder_kernel",
                "quantizer": "quantizer", "beta": "beta", "ema": "ema", "kmeans_init": "kmeans_init",
                "dead_code_steps": "dead_code_steps", "tau_rate": "tau_rate"}
_PRIOR_FLAGS = ("kind", "channels", "layers", "kernel_size", "head_channels", "dropout", "positional", "heads",
                "mlp_ratio")


def _given(args: argparse.Namespace, names) -> dict:
    """The flags among ``names`` that the user actually gave (not None)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _make(cls, **kwargs):
    """Build a config dataclass, turning its ValueError into a plain CliError."""
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise CliError(f"Invalid setting: {exc}.") from None


def _check_positive(args: argparse.Namespace) -> None:
    for name in ("batch_size", "val_every", "num_codes", "code_dim", "hidden", "res_channels",
                 "channels", "layers", "head_channels", "kernel_size", "heads", "mlp_ratio"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            raise CliError(f"--{name.replace('_', '-')} must be positive, got {value}.")
    for name in ("max_steps", "epochs", "lr", "res_blocks", "dead_code_steps", "augment_shifts",
                 "warmup_steps", "tau_rate"):
        value = getattr(args, name, None)
        if value is not None and value < 0:
            raise CliError(f"--{name.replace('_', '-')} must not be negative, got {value}.")


@dataclass
class RunResult:
    """How a training loop ended."""
    last: object | None            # the last VQVAEStep / PriorStep, None if no step finished
    interrupted: bool = False      # Ctrl+C
    failure: str | None = None     # FloatingPointError message (the loss became NaN)


def _drive(steps: Iterator, bar: ProgressBar, describe: Callable[[object], str],
           validation: Callable[[object], str | None]) -> RunResult:
    """Pull steps until the end, Ctrl+C or a non-finite loss; always closes the generator."""
    result = RunResult(last=None)
    try:
        for step in steps:
            result.last = step
            bar.update(step.step, step.total_steps, describe(step), step.eta_s)
            note = validation(step)
            if note:
                bar.update(step.step, step.total_steps, describe(step), step.eta_s, force=True)
                bar.note(note)
    except KeyboardInterrupt:
        result.interrupted = True
    except FloatingPointError as exc:
        result.failure = str(exc)
    finally:
        steps.close()
        bar.finish()
    return result


def _history(args: argparse.Namespace, result: RunResult, device: torch.device, world: int,
             train_config) -> dict:
    last = result.last
    history = {
        "command": args.command_line, "steps": last.step, "total_steps": last.total_steps,
        "seconds": round(last.elapsed_s, 3), "device": describe_device(device), "processes": world,
        "images_per_s": round(last.images_per_s, 1),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "train_config": {k: v for k, v in asdict(train_config).items() if k != "model"},
    }
    if result.interrupted:
        history["interrupted"] = True
    if result.failure:
        history["stopped"] = result.failure
    return history


def _report_end(result: RunResult, what: str, out: Path, usable: Callable[[], bool]) -> bool:
    """Tell the user how training ended; return True if the model should be saved.

    After a non-finite loss the model is saved only if ``usable()`` (finite weights and
    finite held-out metrics): a diverged model is not worth overwriting anything with.
    """
    last = result.last
    if last is None:
        reason = "interrupted" if result.interrupted else f"stopped: {result.failure}"
        print(f"Training {reason} before the first step finished; nothing was saved.", file=sys.stderr)
        return False
    if result.failure:
        if not usable():
            print(f"Training stopped at step {last.step}: {result.failure}\nThe model had already "
                  f"diverged (non-finite weights or outputs); nothing was saved.", file=sys.stderr)
            return False
        print(f"Training stopped at step {last.step}: {result.failure}\nSaving the {what} as of step "
              f"{last.step} to {out}.", file=sys.stderr)
    elif result.interrupted:
        print(f"Interrupted at step {last.step} of {last.total_steps}: saving the {what} trained so far "
              f"to {out}.", file=sys.stderr)
    return True


def _finite_metrics(metrics: dict) -> bool:
    return all(math.isfinite(v) for v in metrics.values() if isinstance(v, float))


def _exit_code(result: RunResult) -> int:
    if result.failure:
        return EXIT_USER_ERROR
    return EXIT_INTERRUPTED if result.interrupted else 0


def _examples(val: ImageSet, n: int) -> ImageSet | None:
    n = min(max(n, 0), len(val))
    return ImageSet(val.images[:n].clone(), val.labels[:n].clone()) if n else None


def _with_process_group(args: argparse.Namespace, body: Callable[..., int]) -> int:
    """Run ``body(args, device, rank, world)`` inside a torchrun process group if there is one."""
    owned = not (dist.is_available() and dist.is_initialized())
    try:
        device, rank, world = distributed.init_from_env(args.device)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        return body(args, device, rank, world)
    finally:
        if owned:
            distributed.cleanup()


# ------------------------------------------------------------------------------ train vqvae
def run_train_vqvae(args: argparse.Namespace) -> int:
    """``train vqvae``: train (or resume) a VQ-VAE and save a bundle."""
    _check_positive(args)
    check_save_target(args.out)                 # refuse a bad --out now, not after the training
    return _with_process_group(args, _train_vqvae)


def _train_vqvae(args: argparse.Namespace, device: torch.device, rank: int, world: int) -> int:
    main_rank = rank == 0
    previous = load_bundle(args.resume, "cpu") if args.resume else None
    data_cfg = data_config_from(args, previous.data if previous else None)
    if previous is not None:
        check_data_settings(data_cfg, previous.vqvae.config.in_channels, previous.vqvae.config.image_size)
    splits = load_data(data_cfg)
    model_flags = {_VQVAE_FLAGS[k]: v for k, v in _given(args, _VQVAE_FLAGS).items()}
    if previous is not None:
        model = previous.vqvae
        model_cfg = model.config
        if model_flags and main_rank:
            print(f"Note: resuming keeps the bundle's architecture; ignored "
                  f"{', '.join('--' + k.replace('_', '-') for k in _given(args, _VQVAE_FLAGS))}.",
                  file=sys.stderr)
    else:
        model = None
        c, h, w = splits.image_shape
        if h != w:
            raise CliError(f"The images are {h}x{w} pixels; the VQ-VAE needs square images: use --image-size.")
        model_cfg = _make(VQVAEConfig, **{**model_flags, "in_channels": c, "image_size": h})
    check_image_shape(splits.image_shape, model_cfg.in_channels, model_cfg.image_size)
    train_cfg = _make(VQVAETrainConfig, model=model_cfg, **_given(args, _SCHEDULE_FLAGS))
    if main_rank:
        print(f"Training a VQ-VAE (K={model_cfg.num_codes}, D={model_cfg.code_dim}, {model_cfg.quantizer}) on "
              f"{describe_data(data_cfg)}: {len(splits.train)} training / {len(splits.val)} validation images, "
              f"{describe_device(device)}" + (f" x {world} processes" if world > 1 else ""), file=sys.stderr)
    k = model_cfg.num_codes

    def describe(s) -> str:
        kl = f" kl {s.kl_loss:.4f}" if s.tau is not None else ""
        return (f"recon {s.recon_loss:.4f} codebook {s.codebook_loss:.4f} commit {s.commitment_loss:.4f}{kl}"
                f" | ppl {s.perplexity:.1f} | codes {round(s.usage * k)}/{k} | {s.images_per_s:.0f} img/s")

    def validation(s) -> str | None:
        return None if s.val_mse is None else f"step {s.step}/{s.total_steps}: validation MSE {s.val_mse:.5f}"

    bar = ProgressBar(enabled=main_rank)
    result = _drive(train_vqvae(train_cfg, splits, device, model=model), bar, describe, validation)
    if not main_rank:
        return _exit_code(result)
    out = Path(args.out)
    trained = result.last.model if result.last is not None else None
    metrics = evaluate_vqvae(trained, splits.val.images) if trained is not None and len(splits.val) else {}
    if not _report_end(result, "VQ-VAE", out, lambda: all_finite(trained) and _finite_metrics(metrics)):
        return _exit_code(result)
    history = _history(args, result, device, world, train_cfg)
    if previous is not None:
        history["resumed_from"] = {"path": str(previous.path), "history": previous.history}
    bundle = Bundle(vqvae=trained, prior=None, name=out.name, data=data_cfg.to_dict(), history=history,
                    metrics=metrics, examples=_examples(splits.val, args.examples))
    bundle.save(out)
    if previous is not None and previous.prior is not None:
        print("Note: the resumed bundle's prior was left out (the codes changed); train a new one with "
              f"`python -m explorer train prior --bundle {out}`.", file=sys.stderr)
    summary = f"Saved {out} after {result.last.step} steps"
    if metrics:
        summary += (f": validation MSE {metrics['mse']:.5f}, perplexity {metrics['perplexity']:.1f}, "
                    f"{metrics['codes_used_count']}/{k} codes used")
    print(summary)
    return _exit_code(result)


# ------------------------------------------------------------------------------ train prior
def run_train_prior(args: argparse.Namespace) -> int:
    """``train prior``: train a PixelCNN prior on a bundle's codes and save it into the bundle."""
    _check_positive(args)
    check_save_target(args.out or args.bundle)  # refuse a bad --out now, not after the training
    return _with_process_group(args, _train_prior)


def _class_count(splits: DataSplits, flag: str) -> int:
    labels = torch.cat([splits.train.labels, splits.val.labels])
    if labels.numel() == 0 or int(labels.min()) < 0:
        raise CliError(f"{flag} needs labelled images; these data have unknown labels.")
    return max(len(splits.class_names), int(labels.max()) + 1)


def _train_prior(args: argparse.Namespace, device: torch.device, rank: int, world: int) -> int:
    main_rank = rank == 0
    bundle = load_bundle(args.bundle, "cpu")
    start_from = None
    if args.resume_prior:
        if bundle.prior is None:
            raise CliError(f"{args.bundle} has no prior to continue; drop --resume-prior.")
        start_from = bundle.prior                      # continue its weights (architecture flags ignored)
        if args.dropout is not None:                   # dropout is training, not architecture: it applies
            start_from.set_dropout(args.dropout)
        if main_rank:
            print(f"Continuing the bundle's {bundle.prior.config.kind} prior.", file=sys.stderr)
    data_cfg = data_config_from(args, bundle.data)
    check_data_settings(data_cfg, bundle.vqvae.config.in_channels, bundle.vqvae.config.image_size)
    splits = load_data(data_cfg)
    vq_cfg = bundle.vqvae.config
    check_image_shape(splits.image_shape, vq_cfg.in_channels, vq_cfg.image_size)
    num_classes = _class_count(splits, "--class-conditional") if args.class_conditional else 0
    class_heads = _class_count(splits, "--class-heads") if args.class_heads and not start_from else 0
    prior_cfg = _make(PriorConfig, **_given(args, _PRIOR_FLAGS), num_classes=num_classes, class_heads=class_heads,
                      num_codes=vq_cfg.num_codes, height=vq_cfg.grid_size, width=vq_cfg.grid_size)
    if args.label_weight is not None and not (class_heads or (start_from and start_from.config.class_heads)):
        raise CliError("--label-weight is for a prior with class heads: add --class-heads.")
    extra = _given(args, ("augment_shifts", "label_weight"))
    train_cfg = _make(PriorTrainConfig, model=prior_cfg, **_given(args, _SCHEDULE_FLAGS), **extra)
    if main_rank:
        cond = f", conditioned on {num_classes} classes" if num_classes else ""
        heads = f" with {class_heads} class heads (label weight {train_cfg.label_weight:g})" if class_heads else ""
        print(f"Training a {replace(prior_cfg, class_heads=0).describe()} prior{heads}{cond} over {vq_cfg.grid_size}x{vq_cfg.grid_size} "
              f"grids of K={vq_cfg.num_codes} codes on {describe_data(data_cfg)}: {len(splits.train)} training / "
              f"{len(splits.val)} validation images, "
              f"{describe_device(device)}" + (f" x {world} processes" if world > 1 else ""), file=sys.stderr)
    seen: dict[str, float] = {}

    def describe(s) -> str:
        if s.val_nll is not None:
            seen.update(nll=s.val_nll, acc=s.val_accuracy)
        val = f" | val NLL {seen['nll']:.3f} acc {seen['acc']:.3f}" if seen else ""
        return f"loss {s.loss:.3f} nats/latent{val} | {s.images_per_s:.0f} grids/s"

    def validation(s) -> str | None:
        if s.val_nll is None:
            return None
        return (f"step {s.step}/{s.total_steps}: validation NLL {s.val_nll:.4f} nats/latent, "
                f"accuracy {s.val_accuracy:.3f}")

    bar = ProgressBar(enabled=main_rank)
    result = _drive(train_prior(train_cfg, bundle.vqvae, splits, device, prior=start_from),
                    bar, describe, validation)
    if not main_rank:
        return _exit_code(result)
    out = Path(args.out or args.bundle)
    prior = result.last.model if result.last is not None else None
    metrics = dict(bundle.metrics)
    if prior is not None and len(splits.val):
        codes = encode_images(bundle.vqvae, splits.val.images)
        ev = evaluate_prior(prior, codes, splits.val.labels if num_classes else None)
        metrics.update(prior_metrics(ev))
    if not _report_end(result, "prior", out, lambda: all_finite(prior) and _finite_metrics(metrics)):
        return _exit_code(result)
    history = dict(bundle.history)
    previous_prior = history.get("prior") if args.resume_prior else None
    history["prior"] = {**_history(args, result, device, world, train_cfg), "data": data_cfg.to_dict()}
    if previous_prior:
        history["prior"]["resumed_from"] = previous_prior
    bundle.prior, bundle.metrics, bundle.history = prior, metrics, history
    if args.out:
        bundle.name = out.name
    bundle.save(out)
    summary = f"Saved the prior into {out} after {result.last.step} steps"
    if "prior_nll" in metrics:
        summary += (f": validation NLL {metrics['prior_nll']:.4f} nats/latent, "
                    f"accuracy {metrics['prior_accuracy']:.3f}")
    print(summary)
    return _exit_code(result)

