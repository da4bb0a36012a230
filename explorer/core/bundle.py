"""Model bundles: a folder holding the models, their configs and a training summary.

Layout (format version 1)::

    NAME/
      config.json           format, version, model configs, dataset, history, metrics,
                            weights_dtype ("float32", or "float16" for half-size files)
      vqvae.safetensors     VQ-VAE weights and buffers
      prior.safetensors     prior weights (optional; an ensemble's members as members.N.*)
      examples.npz          a few held-out images (optional; uint8, loaded without pickle)

Weights are safetensors (a plain tensor container: loading one cannot run code); torch
``.pt`` files named in config.json are also accepted and loaded with ``weights_only=True``.
Models always compute in float32: float16 files are widened on load.
Every way a folder can be wrong raises :class:`BundleError` with a plain message.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .data import ImageSet
from .models.pixelcnn import AutoregressivePrior, PriorConfig, build_prior
from .models.vqvae import VQVAE, VQVAEConfig

FORMAT_NAME = "discrete-latent-explorer-bundle"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16}   # how weights may be stored


class BundleError(Exception):
    """A bundle folder is missing, corrupt, from an unknown version, or inconsistent."""


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

    def save(self, path: str | Path) -> None:
        """Write the bundle atomically: into a temporary folder, then swap it into place.

        A failure at any point leaves a previous bundle at ``path`` untouched.
        """
        from safetensors.torch import save_file

        path = Path(path).resolve()
        if self.weights_dtype not in WEIGHT_DTYPES:
            raise BundleError(f"weights_dtype must be one of {', '.join(WEIGHT_DTYPES)}, not {self.weights_dtype!r}.")
        dtype = WEIGHT_DTYPES[self.weights_dtype]
        if path.exists() and not (path / CONFIG_FILE).is_file() and (not path.is_dir() or any(path.iterdir())):
            raise BundleError(f"{path} already exists and is not a model bundle; refusing to replace it. "
                              f"Choose a new folder name.")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        try:
            save_file(_tensors(self.vqvae, dtype), str(tmp / "vqvae.safetensors"))
            if self.prior is not None:
                save_file(_tensors(self.prior, dtype), str(tmp / "prior.safetensors"))
            if self.examples is not None:
                np.savez_compressed(tmp / "examples.npz", images=self.examples.images.cpu().numpy(),
                                    labels=self.examples.labels.cpu().numpy())
            for extra in ("MODEL_CARD.md",):          # keep human-written files across re-saves
                if (path / extra).is_file():
                    shutil.copy2(path / extra, tmp / extra)
            with open(tmp / CONFIG_FILE, "w", encoding="utf-8") as f:
                json.dump(self.config_dict(), f, indent=2, default=_json_default)
                f.flush()
                os.fsync(f.fileno())
            _apply_umask(tmp)
            _swap_into_place(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
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
    """Give the bundle ordinary permissions (mkdtemp makes 0700, some writers 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(folder, 0o777 & ~mask)
    for file in folder.iterdir():
        os.chmod(file, 0o666 & ~mask)


def _swap_into_place(tmp: Path, path: Path) -> None:
    """rename(tmp -> path), moving an existing bundle aside first and restoring it on failure."""
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------
def _read_weights(file: Path) -> dict[str, torch.Tensor]:
    if not file.is_file():
        raise BundleError(f"The weights file {file.name} is missing from {file.parent}.")
    if file.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            return load_file(str(file))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise BundleError(f"The weights file {file.name} is truncated or corrupt ({exc}).") from None
    if file.suffix in (".pt", ".pth", ".bin"):
        try:
            state = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError for anything beyond plain tensors
            raise BundleError(f"The weights file {file.name} was refused: it is corrupt or contains "
                              f"code, which is never run ({type(exc).__name__}).") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise BundleError(f"The weights file {file.name} does not hold a plain name -> tensor mapping.")
        return state
    raise BundleError(f"Unsupported weights file type {file.name}; expected .safetensors or .pt.")


def _check_state(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], what: str) -> None:
    """BundleError unless ``state`` has exactly the expected names and shapes and only finite values."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}")
        for k in wrong[:3]:
            parts.append(f"{k} is {tuple(state[k].shape)} but the config needs {tuple(expected[k].shape)}")
        raise BundleError(f"The {what} weights do not match config.json: {'; '.join(parts)}.")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise BundleError(f"The {what} weights contain NaN or infinite values ({', '.join(bad[:3])}).")


def _section(cfg: dict, key: str) -> dict | None:
    sec = cfg.get(key)
    if sec is None:
        return None
    if not isinstance(sec, dict) or not isinstance(sec.get("config"), dict) or not isinstance(sec.get("weights"), str):
        raise BundleError(f"config.json: the '{key}' entry needs a 'config' object and a 'weights' file name.")
    if Path(sec["weights"]).name != sec["weights"]:
        raise BundleError(f"config.json: the '{key}' weights must be a file inside the bundle folder.")
    return sec


_MAX_CONFIG_INT = 1 << 16     # no sensible layer count, width or size is larger


def _checked_values(values: dict, cls, what: str) -> dict:
    """Reject values of the wrong type or absurd size before any model is allocated from them."""
    defaults = {f.name: f.default for f in fields(cls)}
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and min(0, default) <= value <= _MAX_CONFIG_INT
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = True                 # unknown keys are reported by from_dict
        if not ok:
            raise ValueError(f"{what} setting {key!r} has an invalid value {value!r}")
    return values


def _restore(factory, config, state: dict[str, torch.Tensor], what: str) -> nn.Module:
    """Build the model and load ``state`` into it, checking shapes on a memory-free skeleton first.

    The skeleton lives on the "meta" device (no storage), so a config.json asking for an
    absurdly large model is refused by the shape check before anything is allocated.
    """
    try:
        with torch.device("meta"):
            skeleton = factory(config)
        _check_state(skeleton.state_dict(), state, what)
        model = factory(config)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise BundleError(f"config.json: the {what} configuration cannot be built ({exc}).") from None
    expected = model.state_dict()
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return model


def load_bundle(path: str | Path, device: str | torch.device = "cpu") -> Bundle:
    """Load and validate a bundle folder written by :meth:`Bundle.save`.

    Raises BundleError (never anything else for bad files) when: the folder or a file is
    missing, config.json is not valid JSON, the format or version is unknown, the configs
    are invalid, weights are truncated/corrupt or hold code, or weights and configs disagree.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"No bundle folder at {path}.")
    cfg_file = path / CONFIG_FILE
    if not cfg_file.is_file():
        raise BundleError(f"{path} is not a model bundle: {CONFIG_FILE} is missing.")
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{CONFIG_FILE} in {path} is not valid JSON ({exc}).") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT_NAME:
        raise BundleError(f"{path} is not a Discrete Latent Explorer bundle (unknown format).")
    version = cfg.get("version")
    if version != FORMAT_VERSION:
        raise BundleError(f"{path} uses bundle format version {version!r}; this program reads version "
                          f"{FORMAT_VERSION}. Update the program or re-save the bundle.")
    vq_sec, prior_sec = _section(cfg, "vqvae"), _section(cfg, "prior")
    if vq_sec is None:
        raise BundleError("config.json has no 'vqvae' entry.")
    try:
        vq_cfg = VQVAEConfig.from_dict(_checked_values(vq_sec["config"], VQVAEConfig, "vqvae"))
        prior_cfg = (PriorConfig.from_dict(_checked_values(prior_sec["config"], PriorConfig, "prior"))
                     if prior_sec else None)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"config.json holds an invalid model configuration: {exc}.") from None
    for key in ("data", "history", "metrics"):
        if cfg.get(key) is not None and not isinstance(cfg.get(key), dict):
            raise BundleError(f"config.json: '{key}' must be an object.")
    weights_dtype = cfg.get("weights_dtype", "float32")
    if weights_dtype not in WEIGHT_DTYPES:
        raise BundleError(f"config.json: unknown weights_dtype {weights_dtype!r} (expected "
                          f"{' or '.join(WEIGHT_DTYPES)}).")
    if prior_cfg is not None and prior_cfg.num_codes != vq_cfg.num_codes:
        raise BundleError(f"The prior models K={prior_cfg.num_codes} codes but the VQ-VAE has "
                          f"K={vq_cfg.num_codes}.")
    vqvae = _restore(VQVAE, vq_cfg, _read_weights(path / vq_sec["weights"]), "VQ-VAE")
    prior = None
    if prior_cfg is not None:
        prior = _restore(build_prior, prior_cfg, _read_weights(path / prior_sec["weights"]), "prior")
    examples = _read_examples(path, cfg.get("examples"), vq_cfg)
    vqvae.to(device).eval()
    if prior is not None:
        prior.to(device).eval()
    return Bundle(vqvae=vqvae, prior=prior, name=str(cfg.get("name") or path.name),
                  data=dict(cfg.get("data") or {}), history=dict(cfg.get("history") or {}),
                  metrics=dict(cfg.get("metrics") or {}), examples=examples, path=path.resolve(),
                  weights_dtype=weights_dtype)


def _read_examples(path: Path, name: object, vq_cfg: VQVAEConfig) -> ImageSet | None:
    if not name:
        return None
    file = path / str(name)
    if Path(str(name)).name != str(name) or not file.is_file():
        raise BundleError(f"The examples file {name} is missing from {path}.")
    try:
        with np.load(file, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except Exception as exc:
        raise BundleError(f"The examples file {name} is corrupt ({type(exc).__name__}).") from None
    want = (vq_cfg.in_channels, vq_cfg.image_size, vq_cfg.image_size)
    if images.dtype != np.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != want \
            or labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise BundleError(f"The examples in {name} are not uint8 images of shape (N, {want}) with N labels.")
    return ImageSet(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))
