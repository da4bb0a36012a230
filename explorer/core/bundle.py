"""Model bundles: a folder holding the models, their configs and a training summary.

Layout (format version 1)::

    NAME/
      config.json           format, version, model configs, dataset, history, metrics,
                            weights_dtype ("float32", or "float16" for half-size files)
      vqvae.safetensors     VQ-VAE weights and buffers
      prior.safetensors     prior weights (optional; an ensemble's members as members.N.*)
      examples.npz          a few held-out images (optional; uint8, loaded without pickle)

      MODEL_CARD.md         optional notes; any other file a user puts in the folder is theirs

Weights are safetensors (a plain tensor container: loading one cannot run code); torch
``.pt`` files named in config.json are also accepted and loaded with ``weights_only=True``.
Models always compute in float32: float16 files are widened on load. Reading the weight files and
``examples.npz`` lives in :mod:`.bundle_files`.

Loading: every way a folder can be wrong raises :class:`BundleError` with a plain message and
nothing else. Files are read with bounded sizes, configs are range-checked (and the model's size
computed from them) before anything is allocated, weight headers (names, shapes, dtypes) are
checked before weight data are read, and ``examples.npz`` is checked member by member from its
.npy headers before anything is decompressed.

Saving: the bundle is written into ``.NAME.tmp-PID-*`` next to the target, then swapped in with
two renames (the old folder goes to ``.NAME.old-PID-*`` first). Only an empty folder or a folder
that is recognisably a bundle (its config.json has the format marker) is replaced, and files the
bundle does not own (notes, MODEL_CARD.md, folders) are carried over; the folder's mode and group
are kept. If a save is killed between the two renames, the next load or save of that path puts
the previous bundle back and cleans up: only folders the save marked as its own
(:mod:`.bundle_swap`), never a user's ``.NAME.old-backup``.
"""
from __future__ import annotations

import json
import numbers
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .config import describe_value
from .data import DataConfig, ImageSet
from .model_card import refresh_model_card
from .models.prior import AutoregressivePrior, PriorConfig, build_prior
from .models.vqvae import VQVAE, VQVAEConfig
from .bundle_swap import _ACTIVE, _SWAP_LOCK, SAVE_MARKER, _swap_into_place, _write_marker, recover_interrupted_save
from .bundle_files import (MAX_EXAMPLES, WEIGHT_SUFFIXES, BundleError, check_example_labels, read_examples,
                           restore_model)
from .safe_io import (MAX_JSON_DEPTH, UnsafeInput, current_umask, describe_error, parent_folder_problem, parse_json,
                      read_regular_file, too_deep)

FORMAT_NAME = "discrete-latent-explorer-bundle"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16}   # how weights may be stored
MODEL_CARD = "MODEL_CARD.md"
OWNED_FILES = (CONFIG_FILE, "vqvae.safetensors", "prior.safetensors", "examples.npz")  # what save writes

MAX_CONFIG_BYTES = 4 << 20         # config.json
MAX_CARD_BYTES = 4 << 20           # MODEL_CARD.md copied by Save as


@dataclass
class Bundle:
    """A VQ-VAE, optionally its prior, and what is known about how they were trained."""
    vqvae: VQVAE
    prior: AutoregressivePrior | None = None
    name: str = ""
    data: dict = field(default_factory=dict)       # DataConfig as a dict (how the data were loaded)
    history: dict = field(default_factory=dict)    # training summary (steps, time, device, command)
    metrics: dict = field(default_factory=dict)    # held-out metrics
    examples: ImageSet | None = None               # a few held-out images shipped with the bundle
    path: Path | None = None                       # where it was loaded from or last saved to
    weights_dtype: str = "float32"                 # "float16" halves the weight files; models compute in float32

    def config_dict(self) -> dict:
        return {
            "format": FORMAT_NAME, "version": FORMAT_VERSION, "name": self.name,
            "vqvae": {"config": self.vqvae.config.to_dict(), "weights": "vqvae.safetensors"},
            "prior": None if self.prior is None else
            {"config": self.prior.config.to_dict(), "weights": "prior.safetensors"},
            "examples": None if self.examples is None else "examples.npz",
            "weights_dtype": self.weights_dtype,
            "data": self.data, "history": self.history, "metrics": self.metrics,
        }

    def check(self) -> None:
        """BundleError if load_bundle would refuse what save writes (never write an unloadable bundle)."""
        cfg = self.config_dict()
        prior_cfg = self.prior.config if self.prior is not None else None
        _check_sections(cfg, self.vqvae.config, prior_cfg)
        if too_deep(cfg, MAX_JSON_DEPTH):
            raise BundleError(f"The bundle's history or metrics nest more than {MAX_JSON_DEPTH} levels deep.")
        if self.examples is not None:
            images, labels = self.examples.images, self.examples.labels
            want = (self.vqvae.config.in_channels, self.vqvae.config.image_size, self.vqvae.config.image_size)
            if images.dtype != torch.uint8 or tuple(images.shape[1:]) != want or len(images) > MAX_EXAMPLES \
                    or tuple(labels.shape) != (len(images),):
                raise BundleError(f"The examples must be at most {MAX_EXAMPLES} uint8 images of shape {want} "
                                  f"with one label each.")
            check_example_labels(labels.cpu().numpy(), "examples.npz", prior_cfg.num_classes if prior_cfg else 0)

    def save(self, path: str | Path) -> None:
        """Write the bundle atomically: into a temporary folder, then swap it into place.

        A failure at any point leaves a previous bundle at ``path`` untouched. ``path`` must not
        exist, be an empty folder or be a bundle folder; a bundle's extra files (notes,
        MODEL_CARD.md) are kept. Saving to a new folder copies this bundle's MODEL_CARD.md.
        """
        from safetensors.torch import save_file

        self.check()
        dtype = WEIGHT_DTYPES[self.weights_dtype]
        path = _absolute(path)
        recover_interrupted_save(path)
        previous = check_save_target(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _SWAP_LOCK:                                  # registered before another thread's recovery looks
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent))
            _ACTIVE.add(tmp.name)
        try:
            _write_marker(tmp, "tmp", path.name, tmp.name.rsplit("-", 1)[1])
            save_file(_tensors(self.vqvae, dtype), str(tmp / "vqvae.safetensors"))
            if self.prior is not None:
                save_file(_tensors(self.prior, dtype), str(tmp / "prior.safetensors"))
            if self.examples is not None:
                np.savez_compressed(tmp / "examples.npz", images=self.examples.images.cpu().numpy(),
                                    labels=self.examples.labels.cpu().numpy())
            with open(tmp / CONFIG_FILE, "w", encoding="utf-8") as f:
                json.dump(self.config_dict(), f, indent=2, default=_json_default)
                f.flush()
                os.fsync(f.fileno())
            _apply_umask(tmp)
            _match_folder(tmp, path)
            if previous is not None:                       # keep what the user put in the old bundle
                _carry_extras(path, tmp, _owned_names(previous))
            if not os.path.lexists(tmp / MODEL_CARD) and self.path is not None:
                _copy_model_card(Path(self.path), tmp)
            # A card that no longer fits these weights (trained since it was written) is rewritten.
            refresh_model_card(tmp, self, [path if previous is not None else None,
                                           Path(self.path) if self.path is not None else None])
            _swap_into_place(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            _ACTIVE.discard(tmp.name)
        self.path = path


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in config.json")


def _tensors(model: nn.Module, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """The state dict on the CPU; floating tensors in ``dtype`` where every value fits in it."""
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        if v.is_floating_point() and v.dtype != dtype:
            narrow = v.to(dtype)
            if torch.isfinite(narrow).all():              # e.g. large EMA counts stay float32
                v = narrow
        out[k] = v
    return out


def _apply_umask(folder: Path) -> None:
    """Give the bundle ordinary permissions (mkdtemp makes 0700, some writers 0600); a set-group-ID
    bit the folder inherited from its parent is kept."""
    mask = current_umask()
    os.chmod(folder, (0o777 & ~mask) | (os.stat(folder).st_mode & stat.S_ISGID))
    for file in folder.iterdir():
        os.chmod(file, 0o666 & ~mask)


def _match_folder(new: Path, target: Path) -> None:
    """When ``target`` is an existing folder (an empty one or a bundle), give ``new`` its mode
    (setgid and sticky bits included) and, where allowed, its group: a save never changes them."""
    try:
        info = os.lstat(target)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        return
    if os.stat(new).st_gid != info.st_gid:
        for entry in [new, *new.iterdir()]:
            try:
                os.chown(entry, -1, info.st_gid, follow_symlinks=False)
            except OSError:                           # not a member of that group: the mode still matches
                break
    os.chmod(new, stat.S_IMODE(info.st_mode))


# -------------------------------------------------------------------------------------- save targets
def _absolute(path: str | Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise BundleError(f"Cannot use {describe_value(str(path), 80)} as a bundle folder "
                          f"({describe_error(exc, 80)}).") from None


def _plain_name(name: object, suffixes: tuple[str, ...]) -> bool:
    """True for a file name inside the bundle folder (no path, no NUL, sane length and suffix)."""
    return (isinstance(name, str) and 0 < len(name) <= 255 and "/" not in name and "\\" not in name
            and "\x00" not in name and name not in (".", "..") and name.lower().endswith(suffixes))


def read_bundle_marker(path: Path) -> dict | None:
    """The parsed config.json of ``path`` if it is recognisably a bundle (has the format marker), else None."""
    try:
        cfg = parse_json(read_regular_file(path / CONFIG_FILE, MAX_CONFIG_BYTES))
    except UnsafeInput:
        return None
    return cfg if isinstance(cfg, dict) and cfg.get("format") == FORMAT_NAME else None


def check_save_target(path: str | Path) -> dict | None:
    """Refuse (BundleError) a path a bundle cannot be saved to, before any work is done.

    Allowed: a new name in a writable folder, an empty folder, or an existing bundle (whose
    parsed config.json is returned, so its own files can be told from the user's). Refused:
    an existing file, a folder with other contents, a parent that is not a writable folder.
    The command line calls this before training so a long run is never lost at the end.
    """
    path = _absolute(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise BundleError(f"Cannot save to {path}: a part of that path is a file, not a folder.") from None
    except OSError as exc:
        raise BundleError(f"Cannot save to {path}: {describe_error(exc, 80)}.") from None
    previous = None
    if info is not None:
        if not stat.S_ISDIR(info.st_mode):
            raise BundleError(f"{path} already exists and is a file, not a bundle folder; refusing to "
                              f"replace it. Choose a new folder name.")
        try:
            with os.scandir(path) as entries:
                empty = next(entries, None) is None
        except OSError as exc:
            raise BundleError(f"Cannot save to {path}: {describe_error(exc, 80)}.") from None
        if not empty:
            previous = read_bundle_marker(path)
            if previous is None:
                raise BundleError(f"{path} already exists and is not a model bundle (no bundle {CONFIG_FILE}); "
                                  f"refusing to replace it. Choose a new folder name.")
            for name in sorted(_owned_names(previous)):
                if os.path.isdir(path / name) and not os.path.islink(path / name):
                    raise BundleError(f"{path} holds a folder named {name}, which a save would replace with the "
                                      f"bundle's file of that name; move or rename that folder first.")
    problem = parent_folder_problem(path)
    if problem is not None:
        raise BundleError(f"Cannot save to {path}: {problem}.")
    return previous


def _owned_names(cfg: dict) -> set[str]:
    """Files a bundle owns: what save writes, plus the weights and examples its config names."""
    owned = set(OWNED_FILES)
    for key in ("vqvae", "prior"):
        sec = cfg.get(key)
        if isinstance(sec, dict) and _plain_name(sec.get("weights"), WEIGHT_SUFFIXES):
            owned.add(sec["weights"])
    if _plain_name(cfg.get("examples"), (".npz",)):
        owned.add(cfg["examples"])
    return owned


def _link_or_copy(src: str, dst: str) -> None:
    """A hard link (instant, no extra space) where the file system allows it, else a copy.

    Symlinks stay symlinks (never followed); a FIFO, socket or device that cannot be linked
    holds no data and is skipped (copying one would block or read without end).
    """
    try:
        os.link(src, dst, follow_symlinks=False)
        return
    except OSError:
        pass
    mode = os.lstat(src).st_mode
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        shutil.copy2(src, dst, follow_symlinks=False)


def _carry_extras(old: Path, new: Path, owned: set[str]) -> None:
    """Put every entry of ``old`` that the bundle does not own into ``new`` (links kept as links)."""
    with os.scandir(old) as it:
        entries = list(it)
    for entry in entries:
        if entry.name in owned or entry.name == SAVE_MARKER or os.path.lexists(new / entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, new / entry.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry.path, str(new / entry.name))


def _copy_model_card(source: Path, dest: Path) -> None:
    """Copy source/MODEL_CARD.md if it is a regular file (never through a symlink) of sane size."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source / MODEL_CARD, flags)
    except OSError:                                   # none, a symlink (ELOOP) or unreadable
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CARD_BYTES:
            return
        with os.fdopen(os.dup(fd), "rb") as f:
            text = f.read(MAX_CARD_BYTES + 1)
    finally:
        os.close(fd)
    if len(text) <= MAX_CARD_BYTES:
        (dest / MODEL_CARD).write_bytes(text)


def _section(cfg: dict, key: str) -> dict | None:
    sec = cfg.get(key)
    if sec is None:
        return None
    if not isinstance(sec, dict) or not isinstance(sec.get("config"), dict) or not isinstance(sec.get("weights"), str):
        raise BundleError(f"config.json: the '{key}' entry needs a 'config' object and a 'weights' file name.")
    if not _plain_name(sec["weights"], WEIGHT_SUFFIXES):
        raise BundleError(f"config.json: the '{key}' weights must be a .safetensors or .pt file inside the "
                          f"bundle folder, not {describe_value(sec['weights'])}.")
    return sec


def _model_config(cls, sec: dict, what: str):
    try:
        return cls.from_dict(sec["config"])
    except (TypeError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise BundleError(f"config.json holds an invalid model configuration: {what} {reason}.") from None


_NUMERIC_METRICS = ("mse", "perplexity", "codes_used_count", "prior_nll", "prior_bits_per_latent", "prior_accuracy")


def _check_sections(cfg: dict, vq_cfg: VQVAEConfig, prior_cfg: PriorConfig | None) -> dict:
    """Check name, data, history, metrics, weights_dtype and that the parts fit together."""
    name = cfg.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 1000):
        raise BundleError(f"config.json: 'name' must be text of at most 1000 characters, not {describe_value(name)}.")
    for key in ("data", "history", "metrics"):
        if cfg.get(key) is not None and not isinstance(cfg.get(key), dict):
            raise BundleError(f"config.json: '{key}' must be an object.")
    weights_dtype = cfg.get("weights_dtype", "float32")
    if not isinstance(weights_dtype, str) or weights_dtype not in WEIGHT_DTYPES:
        raise BundleError(f"config.json: unknown weights_dtype {describe_value(weights_dtype)} (expected "
                          f"{' or '.join(WEIGHT_DTYPES)}).")
    metrics = cfg.get("metrics") or {}
    for key in _NUMERIC_METRICS:
        value = metrics.get(key)
        if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
            raise BundleError(f"config.json: the metric '{key}' must be a number, not {describe_value(value)}.")
    data = cfg.get("data") or {}
    data_cfg = None
    if data:
        try:
            data_cfg = DataConfig.from_dict(data)
        except ValueError as exc:
            raise BundleError(f"config.json: the 'data' settings are invalid ({exc}).") from None
        if data_cfg.image_size is not None and data_cfg.image_size != vq_cfg.image_size:
            raise BundleError(f"config.json: the data are resized to {data_cfg.image_size} pixels but the "
                              f"VQ-VAE takes {vq_cfg.image_size}x{vq_cfg.image_size} images.")
    if prior_cfg is not None:
        if prior_cfg.num_codes != vq_cfg.num_codes:
            raise BundleError(f"The prior models K={prior_cfg.num_codes} codes but the VQ-VAE has "
                              f"K={vq_cfg.num_codes}.")
        g = vq_cfg.grid_size
        if (prior_cfg.height, prior_cfg.width) != (g, g):
            raise BundleError(f"The prior models {prior_cfg.height}x{prior_cfg.width} code grids but the VQ-VAE "
                              f"makes {g}x{g} grids.")
        classes = data_cfg.classes if data_cfg is not None else None
        if prior_cfg.num_classes and classes and max(classes) >= prior_cfg.num_classes:
            raise BundleError(f"The prior knows {prior_cfg.num_classes} classes but the data use class "
                              f"{max(classes)}.")
    return {"weights_dtype": weights_dtype}


def load_bundle(path: str | Path, device: str | torch.device = "cpu") -> Bundle:
    """Load and validate a bundle folder written by :meth:`Bundle.save`.

    Raises BundleError, and nothing else, for any folder: missing folder or files, config.json
    not valid (or absurd) JSON, unknown format or version, invalid or inconsistent configs,
    weights truncated/corrupt/holding code/of the wrong dtype, weights and configs disagreeing,
    bad examples. A save killed half-way is repaired first (:func:`recover_interrupted_save`).
    """
    try:
        return _load_bundle(path, device)
    except BundleError:
        raise
    except MemoryError:
        raise BundleError(f"The bundle {describe_value(str(path), 80)} is too large to load.") from None
    except Exception as exc:  # a safety net: a bundle never shows a raw Python error
        raise BundleError(f"The bundle {describe_value(str(path), 80)} cannot be loaded "
                          f"({describe_error(exc, 120)}).") from None


def _load_bundle(path: str | Path, device: str | torch.device) -> Bundle:
    path = Path(path)
    recover_interrupted_save(path)
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if not is_dir:
        raise BundleError(f"No bundle folder at {describe_value(str(path), 200)}.")
    cfg_file = path / CONFIG_FILE
    if not os.path.lexists(cfg_file):
        raise BundleError(f"{path} is not a model bundle: {CONFIG_FILE} is missing.")
    try:
        cfg = parse_json(read_regular_file(cfg_file, MAX_CONFIG_BYTES))
    except UnsafeInput as exc:
        raise BundleError(f"{CONFIG_FILE} in {path} is not valid JSON ({exc}).") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT_NAME:
        raise BundleError(f"{path} is not a Discrete Latent Explorer bundle (unknown format).")
    version = cfg.get("version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise BundleError(f"{path} uses bundle format version {describe_value(version)}; this program reads "
                          f"version {FORMAT_VERSION}. Update the program or re-save the bundle.")
    vq_sec, prior_sec = _section(cfg, "vqvae"), _section(cfg, "prior")
    if vq_sec is None:
        raise BundleError("config.json has no 'vqvae' entry.")
    vq_cfg = _model_config(VQVAEConfig, vq_sec, "vqvae")
    prior_cfg = _model_config(PriorConfig, prior_sec, "prior") if prior_sec else None
    checked = _check_sections(cfg, vq_cfg, prior_cfg)
    examples_name = cfg.get("examples")
    if examples_name is not None and not _plain_name(examples_name, (".npz",)):
        raise BundleError(f"config.json: 'examples' must name a .npz file inside the bundle folder, not "
                          f"{describe_value(examples_name)}.")
    vqvae = restore_model(VQVAE, vq_cfg, path / vq_sec["weights"], "VQ-VAE")
    prior = None
    if prior_cfg is not None:
        prior = restore_model(build_prior, prior_cfg, path / prior_sec["weights"], "prior")
    examples = read_examples(path, examples_name, vq_cfg, prior_cfg.num_classes if prior_cfg else 0)
    vqvae.to(device).eval()
    if prior is not None:
        prior.to(device).eval()
    return Bundle(vqvae=vqvae, prior=prior, name=cfg.get("name") or path.name,
                  data=dict(cfg.get("data") or {}), history=dict(cfg.get("history") or {}),
                  metrics=dict(cfg.get("metrics") or {}), examples=examples, path=path.resolve(),
                  weights_dtype=checked["weights_dtype"])
