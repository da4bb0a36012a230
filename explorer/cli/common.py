"""Pieces every subcommand shares: the user-error type, data and device flags, the progress bar."""
from __future__ import annotations

import argparse
import importlib
import math
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

from ..core.config import Limit, describe_value     # plain Python: no torch

if TYPE_CHECKING:       # torch and the core load only when a command runs (`--help` stays fast)
    import torch

    from ..core.data import DataConfig


class CliError(Exception):
    """A mistake the user can fix; main() prints the message (no traceback) and exits with 2."""


EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


# ------------------------------------------------------------------------------ bounded flags
def limited(limit: Limit | Callable[[], Limit], name: str):
    """An argparse ``type`` that parses a flag and checks it against ``limit`` (the same table the
    bundle loader and the configs use), so a bad value stops the command before any work.

    ``limit`` may be a function returning the Limit: it runs only when the flag is given, so
    building the parser (``--help``) never imports the models, and so never torch."""
    def parse(text: str):
        nonlocal limit
        if not isinstance(limit, Limit):
            limit = limit()
        try:
            value = limit.parse(text)
        except (ValueError, OverflowError):
            what = "whole number" if limit.kind is int else "number"
            raise argparse.ArgumentTypeError(f"invalid {what}: {describe_value(text)}") from None
        try:
            limit.check(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(name + " ")) from None
        return value
    parse.__name__ = name
    return parse


def field_flag(cls_path: str, name: str):
    """``limited`` with the limit of config field ``name`` of the class ``"module:Class"``, imported
    when the flag is parsed (``--help`` stays free of torch)."""
    def limit() -> Limit:
        module, _, cls_name = cls_path.partition(":")
        return getattr(importlib.import_module(module), cls_name).LIMITS[name]
    return limited(limit, name)


VQVAE_CONFIG = "explorer.core.models.vqvae:VQVAEConfig"
PRIOR_CONFIG = "explorer.core.models.pixelcnn:PriorConfig"
VQVAE_TRAIN_CONFIG = "explorer.core.training:VQVAETrainConfig"
PRIOR_TRAIN_CONFIG = "explorer.core.training:PriorTrainConfig"


def check_output_file(path: Path, flag: str = "--out") -> None:
    """CliError unless a file can be written at ``path``: a new name or a regular file (never a
    folder, FIFO, device, socket or symbolic link) in a writable folder."""
    from ..core.safe_io import output_file_problem
    problem = output_file_problem(path)
    if problem is not None:
        raise CliError(f"{flag} {path} {problem}." if problem.startswith(("is ", "exists", "cannot"))
                       else f"{flag} {path}: {problem}.")


# ------------------------------------------------------------------------------ data flags
def _classes_arg(text: str) -> tuple[int, ...]:
    from ..core.data import parse_classes
    try:
        return parse_classes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_data_flags(parser: argparse.ArgumentParser, default_hint: str) -> None:
    """Dataset flags; each defaults to None so that only flags the user gave override a base config."""
    g = parser.add_argument_group("data", f"which images to use (default: {default_hint})")
    g.add_argument("--data", metavar="NAME", help="mnist, fashion-mnist, kmnist, cifar10 or folder:PATH")
    g.add_argument("--data-root", metavar="DIR",
                   help="folder with torchvision's layout or the raw IDX .gz files")
    g.add_argument("--download", action="store_true", default=None,
                   help="let torchvision download missing files (needs internet)")
    g.add_argument("--classes", type=_classes_arg, metavar="LIST",
                   help="keep only these labels, e.g. 1-4 or 0,2,5-7")
    g.add_argument("--holdout-last", type=limited(Limit(int, 0, 10 ** 9), "holdout_last"), metavar="N",
                   help="the last N images (by original index) are the validation set")
    g.add_argument("--val-fraction", type=limited(Limit(float, 0, 1, high_open=True), "val_fraction"), metavar="F",
                   help="random validation fraction when --holdout-last is 0 (default 0.1)")
    g.add_argument("--limit", type=limited(Limit(int, 0, 10 ** 9), "limit"), metavar="N",
                   help="use only the first N images (quick runs)")
    g.add_argument("--image-size", type=field_flag(VQVAE_CONFIG, "image_size"), metavar="PX",
                   help="resize images to PX x PX")
    g.add_argument("--grayscale", action="store_true", default=None, help="convert images to one channel")


_DATA_FLAGS = {"data": "name", "data_root": "root", "download": "download", "classes": "classes",
               "holdout_last": "holdout_last", "val_fraction": "val_fraction", "limit": "limit",
               "image_size": "image_size", "grayscale": "grayscale"}


def data_config_from(args: argparse.Namespace, base: dict | None = None) -> DataConfig:
    """``base`` (a bundle's stored DataConfig dict, or the defaults) with the given flags applied."""
    from ..core.data import DataConfig, usable_root
    try:
        merged = DataConfig.from_dict(dict(base or {})).to_dict()
    except ValueError as exc:
        raise CliError(f"The bundle's stored data settings are invalid ({exc}); give --data and "
                       f"--data-root explicitly.") from None
    merged["root"] = usable_root(merged["root"])   # a folder of another machine: the default folder here
    for flag, key in _DATA_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            merged[key] = list(value) if isinstance(value, tuple) else value
    try:
        return DataConfig.from_dict(merged)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def describe_data(cfg: DataConfig) -> str:
    """One line: which dataset, which part is held out, which classes, e.g.
    'mnist (validation: the last 1000 images; classes 1,2,3,4)'."""
    from ..core.data import describe_split
    parts = [f"validation: {describe_split(cfg)}"]
    if cfg.classes:
        parts.append("classes " + ",".join(str(c) for c in cfg.classes))
    if cfg.limit:
        parts.append(f"first {cfg.limit} images only")
    return f"{cfg.name} ({'; '.join(parts)})"


def check_image_shape(image_shape: tuple[int, ...], in_channels: int, image_size: int) -> None:
    """The data must have the VQ-VAE's channels and (square) size."""
    c, h, w = image_shape
    if (c, h, w) != (in_channels, image_size, image_size):
        raise CliError(f"The images are {c}x{h}x{w} (channels x height x width) but the VQ-VAE expects "
                       f"{in_channels}x{image_size}x{image_size}; use --image-size / --grayscale to match.")


def check_data_settings(cfg: DataConfig, in_channels: int, image_size: int) -> None:
    """Refuse, before any image is loaded, data settings that cannot give the VQ-VAE's input
    (a resize to another size would first convert the whole dataset: --image-size 1024 on MNIST
    is 10 GB before :func:`check_image_shape` could say no)."""
    if cfg.image_size is not None and cfg.image_size != image_size:
        raise CliError(f"--image-size {cfg.image_size} does not fit the VQ-VAE, which takes "
                       f"{image_size}x{image_size} images; use --image-size {image_size} or leave it out.")
    if cfg.grayscale and in_channels != 1:
        raise CliError(f"--grayscale gives one channel but the VQ-VAE takes {in_channels}; leave it out.")


PRIOR_METRICS = ("prior_nll", "prior_bits_per_latent", "prior_accuracy")   # bundle metrics from a prior


def prior_metrics(evaluation: dict) -> dict:
    """``evaluate_prior``'s result under the names bundles' metrics and ``evaluate`` use."""
    return dict(zip(PRIOR_METRICS, (evaluation["nll"], evaluation["bits_per_latent"], evaluation["accuracy"])))


def command_line(argv: list[str]) -> str:
    """The command as a user would type it again."""
    return shlex.join(["python", "-m", "explorer", *argv])


def all_finite(module: torch.nn.Module) -> bool:
    """True if every floating-point parameter and buffer is finite (safe to save)."""
    import torch
    return all(torch.isfinite(t).all() for t in module.state_dict().values() if t.is_floating_point())


# ------------------------------------------------------------------------------ progress bar
def format_duration(seconds: float) -> str:
    """'1:02:03', '4:05' or '--:--' when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """One status line redrawn in place with ``\\r`` on stderr, at most ``max_rate`` times a second.

    ``note`` prints a permanent line (e.g. a validation result) under the bar; ``finish``
    ends the line with a newline. A disabled bar (ranks other than 0) prints nothing.
    """

    def __init__(self, stream: TextIO | None = None, enabled: bool = True, max_rate: float = 5.0,
                 width: int = 20) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.min_interval, self.width = enabled, 1.0 / max_rate, width
        self._last_draw = -math.inf
        self._shown = 0           # length of the line currently on screen (0 = none)
        self._line = ""           # the line currently on screen

    def update(self, step: int, total: int, text: str, eta_s: float, force: bool = False) -> None:
        """Redraw if enough time has passed, or always for the last step or ``force``."""
        now = time.monotonic()
        if not self.enabled or (not force and step < total and now - self._last_draw < self.min_interval):
            return
        self._last_draw = now
        filled = int(self.width * step / max(total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{step}/{total} [{bar}] {text} | ETA {format_duration(eta_s)}"
        if self._shown and line == self._line:
            return
        self.stream.write("\r" + line + " " * max(0, self._shown - len(line)))
        self.stream.flush()
        self._shown, self._line = len(line), line

    def note(self, message: str) -> None:
        """Keep the bar's current line, print ``message`` below it; the bar goes on underneath."""
        if not self.enabled:
            return
        if self._shown:
            self.stream.write("\n")
            self._shown = 0
        self.stream.write(message + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the bar's line (a final newline) if one is showing."""
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = 0
