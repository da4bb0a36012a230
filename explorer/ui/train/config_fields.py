"""What a settings form needs to know about a config dataclass (Qt-free).

Form fields are generated from the dataclass fields: the type picks the editor, the comment
after each field in the source becomes the tooltip, and a small table adds choices, ranges
and fields the user never edits directly (derived from another config).
"""
from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Fields whose value is one of a few choices (shown as a combobox).
CHOICES: dict[str, tuple[Any, ...]] = {
    "quantizer": ("vq", "gumbel", "rotation", "cosine", "factorised", "fsq"),   # core.models.quantizers_extra
    "kind": ("gated", "plain", "transformer"),
    "downsample": (1, 2, 4, 8),
    "in_channels": (1, 3),
    "encoder_kernel": (1, 3),
}

# (minimum, maximum) of numeric fields; others get a generic range.
RANGES: dict[str, tuple[float, float]] = {
    "num_codes": (2, 8192), "code_dim": (1, 1024), "image_size": (0, 1024), "hidden_channels": (4, 1024),
    "res_channels": (2, 1024), "res_blocks": (0, 16), "batch_size": (1, 65536), "layers": (1, 64),
    "kernel_size": (1, 15), "first_kernel": (1, 15), "channels": (4, 1024), "head_channels": (4, 2048),
    "epochs": (0.0, 10000.0), "val_fraction": (0.0, 0.9), "dropout": (0.0, 0.9), "ema_decay": (0.0, 1.0),
    "final_lr_ratio": (0.0, 1.0), "preview_size": (0, 64), "val_every": (1, 1_000_000),
    "num_classes": (0, 1000), "augment_shifts": (0, 4), "heads": (1, 64), "mlp_ratio": (1, 16),
    "class_heads": (0, 1000), "label_weight": (0.0, 1.0),
}

# Fields a form leaves out: derived from another config when training starts.
HIDDEN: dict[str, frozenset[str]] = {
    "VQVAEConfig": frozenset({"in_channels", "image_size"}),   # set from the data's image shape
    "PriorConfig": frozenset({"num_codes", "height", "width", "members"}),   # ensembles: `explorer ensemble`
    "VQVAETrainConfig": frozenset({"model"}),
    "PriorTrainConfig": frozenset({"model"}),
}

# Optional fields: the value shown for None in the editor (``int | None`` -> 0 means None).
NONE_TEXT: dict[str, str] = {"image_size": "native", "root": "default folder", "classes": "all"}

# What the form calls each field: words a user understands, with units. Keyed by field name, or by
# "ConfigClass.field" where one name means different things. Fields not listed show their name.
LABELS: dict[str, str] = {
    # DataConfig
    "DataConfig.name": "Dataset", "root": "Data folder", "download": "Download if missing",
    "classes": "Only these classes", "val_fraction": "Validation share (0–0.9)",
    "holdout_last": "Hold out the last N images", "DataConfig.seed": "Seed of the random split",
    "image_size": "Resize images to (pixels)", "grayscale": "Convert to greyscale",
    "limit": "Use at most N images (0 = all)",
    "holdout_in_order": "Image folders: hold out the last N as listed, not at random",
    # VQVAEConfig
    "downsample": "Downsampling (image → grid)", "hidden_channels": "Hidden channels",
    "res_blocks": "Residual blocks", "encoder_res_blocks": "Encoder residual blocks (−1 = same)",
    "encoder_kernel": "Encoder's last kernel (pixels)", "res_channels": "Channels inside a residual block",
    "num_codes": "Codebook size K", "code_dim": "Code vector size D", "quantizer": "Quantiser",
    "beta": "Commitment weight β", "ema": "Update codes by moving average",
    "ema_decay": "Moving-average decay", "kmeans_init": "Initialise codes by k-means",
    "dead_code_steps": "Re-seed codes unused for N steps (0 = never)",
    "gumbel_hard": "One-hot Gumbel samples (hard)", "gumbel_kl_weight": "Gumbel KL weight",
    "tau_start": "Temperature τ at the start", "tau_min": "Lowest temperature τ",
    "tau_rate": "Temperature decay per step", "lookup_dim": "Lookup dimensions (factorised quantiser)",
    # VQVAETrainConfig / PriorTrainConfig
    "epochs": "Epochs (passes over the data)", "max_steps": "Steps (0 = use epochs)",
    "VQVAETrainConfig.batch_size": "Batch size (images)", "PriorTrainConfig.batch_size": "Batch size (code grids)",
    "lr": "Learning rate", "warmup_steps": "Warm-up steps", "final_lr_ratio": "Final learning rate (× peak)",
    "grad_clip": "Clip gradient norm (0 = off)", "val_every": "Validate every N steps",
    "preview_size": "Reconstructions shown (images)",
    "early_val_step": "Also validate after step N, for early pictures (0 = off)",
    "augment_shifts": "Shift images by up to ± N pixels",
    "label_weight": "Label term's weight (class heads)",
    "seed": "Random seed",
    # PriorConfig
    "kind": "Architecture", "channels": "Channels", "layers": "Layers", "kernel_size": "Kernel size (cells)",
    "first_kernel": "First layer's kernel (cells)", "head_channels": "Output head channels",
    "num_classes": "Classes to condition on (0 = none)", "dropout": "Dropout rate (0–0.9)",
    "positional": "Learn where each position is", "heads": "Attention heads (transformer)",
    "mlp_ratio": "MLP width (× channels, transformer)",
    "class_heads": "Class heads, mixed (0 = one head, transformer)",
}

# Settings that only apply when another one allows it: field -> (the other field, whether that
# value leaves this one unused, what the form says then).
OVERRIDDEN_BY: dict[str, tuple[str, Any, str]] = {
    "val_fraction": ("holdout_last", lambda v: bool(v and v > 0),
                     "Not used: ‘Hold out the last N images’ is above 0, so those images are the validation set."),
    "epochs": ("max_steps", lambda v: bool(v and v > 0),
               "Not used: ‘Steps’ is above 0, so the run takes exactly that many steps."),
    "ema_decay": ("ema", lambda v: not v, "Not used: codes are not updated by moving average."),
    "lookup_dim": ("quantizer", lambda v: v != "factorised", "Not used: only the factorised quantiser looks "
                   "codes up in fewer dimensions."),
    **{name: ("kind", lambda v: v == "transformer", "Not used by the transformer.")
       for name in ("kernel_size", "first_kernel", "head_channels")},
    **{name: ("kind", lambda v: v != "transformer", "Only used by the transformer.")
       for name in ("heads", "mlp_ratio", "class_heads")},
}


def field_label(cls: type, name: str) -> str:
    """The form's label for field ``name`` of config class ``cls``."""
    return LABELS.get(f"{cls.__name__}.{name}") or LABELS.get(name) or name.replace("_", " ")


def unused_reason(config: Any, name: str) -> str:
    """Why field ``name`` of ``config`` has no effect with the other values ("" when it applies)."""
    rule = OVERRIDDEN_BY.get(name)
    if rule is None or not hasattr(config, rule[0]):
        return ""
    other, leaves_unused, reason = rule
    return reason if leaves_unused(getattr(config, other)) else ""


# Text fields that name a folder (a line edit with a Browse button).
PATH_FIELDS = frozenset({"root"})


def suggestions(cls: type, name: str) -> tuple[str, ...]:
    """Values offered for a free-text field (an editable combobox), e.g. the dataset names."""
    if cls.__name__ == "DataConfig" and name == "name":
        from explorer.core.data import DATASETS
        return (*DATASETS, "folder:")
    return ()


@dataclass(frozen=True)
class FieldSpec:
    """One editable field of a config dataclass."""
    name: str                      # attribute name, e.g. "num_codes"
    label: str                     # shown in the form, e.g. "Codebook size K" (LABELS)
    kind: str                      # "bool" | "int" | "float" | "str" | "path" | "choice" | "classes"
    tooltip: str                   # the comment next to the field in the source
    optional: bool = False         # None is allowed (shown as NONE_TEXT)
    choices: tuple[Any, ...] = ()  # for kind "choice"
    minimum: float = 0
    maximum: float = 1_000_000


@lru_cache(maxsize=None)
def field_comments(cls: type) -> dict[str, str]:
    """The trailing ``# comment`` of each field in ``cls``'s source (empty if unreadable)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments = {}
    for match in re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+?)\s*$", source, flags=re.MULTILINE):
        comments.setdefault(match.group(1), match.group(2))
    return comments


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the non-None type, whether None is allowed) of an annotation such as ``int | None``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


@lru_cache(maxsize=None)
def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """The form fields of a config dataclass, in declaration order."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an unresolvable annotation: fall back to the default values' types
        hints = {}
    comments = field_comments(cls)
    hidden = HIDDEN.get(cls.__name__, frozenset())
    specs = []
    for f in dataclasses.fields(cls):
        if f.name in hidden or not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        base, optional = _base_type(hints.get(f.name, type(default)))
        if f.name in CHOICES:
            kind = "choice"
        elif base is bool:
            kind = "bool"
        elif base is int:
            kind = "int"
        elif base is float:
            kind = "float"
        elif typing.get_origin(base) is tuple:
            kind = "classes"
        elif base is str:
            kind = "path" if f.name in PATH_FIELDS else "str"
        else:
            continue                  # nested configs and other types are not form fields
        low, high = RANGES.get(f.name, (-1e308, 1e308) if kind == "float" else (0, 1_000_000))
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            low = min(low, default)              # sentinel defaults such as -1 stay showable
        choices = CHOICES.get(f.name, ()) or suggestions(cls, f.name)
        specs.append(FieldSpec(name=f.name, label=field_label(cls, f.name), kind=kind,
                               tooltip=comments.get(f.name, ""), optional=optional,
                               choices=choices, minimum=low, maximum=high))
    return tuple(specs)


def with_value(config: Any, name: str, value: Any) -> Any:
    """A copy of ``config`` with one field changed; raises ValueError if the config rejects it."""
    try:
        return dataclasses.replace(config, **{name: value})
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def config_from_dict(cls: type, values: dict[str, Any], base: Any | None = None) -> Any:
    """``cls`` built from ``values`` (unknown or invalid entries are skipped, others kept from base)."""
    config = base if base is not None else cls()
    known = {f.name for f in dataclasses.fields(cls)}
    for name, value in (values or {}).items():
        if name not in known or dataclasses.is_dataclass(getattr(config, name, None)):
            continue
        if isinstance(value, list):
            value = tuple(value)
        try:
            config = with_value(config, name, value)
        except ValueError:
            continue
    return config
