"""Datasets: image sources and deterministic train/validation splits (the registry of known datasets,
where their files are found and how they are downloaded: :mod:`.registry`).

Sources: the registry (`mnist`, `fashion-mnist`, `kmnist`, `cifar10`) read from a local folder
(torchvision's layout such as ROOT/MNIST/raw, or the raw files directly in ROOT), downloaded by
torchvision only when `download=True`; or `folder:PATH`, any folder of images.

How a dataset becomes a `DataSplits`:
1. the *pool*: every image found, in original order. When both train and test files are present
   the pool is the train files followed by the test files; when only one part is present (e.g.
   only the MNIST `t10k-*` files) the pool is that part. Folder datasets: files directly in PATH
   first, then each class subfolder in name order.
2. `limit` keeps the first N images of the pool; `image_size`/`grayscale` convert every image.
3. the split, by index into the pool: `holdout_last=N` makes the last N images the validation set,
   otherwise a seeded random `val_fraction` of the pool is (same seed, same split). Folder datasets,
   listed class by class, instead hold out a seeded random sample of N (or the fraction) drawn from
   every class in proportion (`stratified_split`), unless `holdout_in_order` asks for the last N.
4. the class filter is applied to both sets AFTER splitting, so changing the filter never moves
   an image between training and validation (`mnist` digits 1-4 with holdout_last=1000 validate
   on the 1-4 digits among the last 1 000).
"""
from __future__ import annotations

import math
import numbers
import re
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..config import describe_value
from .formats import DataError, list_image_folder, read_cifar_batch, read_idx, read_image_files
from .registry import (DATASETS, DatasetSpec, _download_with_torchvision, _locate, _missing_message,
                       default_data_root, download_dataset, missing_data_message, usable_root)

__all__ = ["DATASETS", "DataConfig", "DataError", "DataSplits", "DatasetSpec", "ImageSet", "default_data_root",
           "download_dataset", "load_data", "missing_data_message", "parse_classes", "read_idx", "split_indices",
           "usable_root", "stratified_split", "describe_split"]


@dataclass
class ImageSet:
    """Images kept as uint8 (N, C, H, W) with their integer labels (N,)."""
    images: torch.Tensor           # uint8 (N, C, H, W)
    labels: torch.Tensor           # long (N,); -1 where unknown

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def float_images(self, index: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Images (or a subset) as float in [0, 1]."""
        x = self.images if index is None else self.images[index]
        return x.float().div_(255.0)


@dataclass
class DataSplits:
    """A training and a validation set of the same dataset."""
    train: ImageSet
    val: ImageSet
    name: str = ""                 # registry name, e.g. "mnist" or "folder:/path"
    class_names: tuple[str, ...] = ()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]


@dataclass
class DataConfig:
    """Which dataset to load and how to split it."""
    name: str = "mnist"            # registry name (mnist, fashion-mnist, kmnist, cifar10) or "folder:PATH"
    root: str | None = None        # local folder with torchvision's layout or raw IDX files; None = default_data_root()
    download: bool = False         # let torchvision download missing files (needs internet)
    classes: tuple[int, ...] | None = None  # keep only these labels, e.g. (1, 2, 3, 4)
    val_fraction: float = 0.1      # random validation fraction (seeded) when holdout_last == 0
    holdout_last: int = 0          # > 0: the last N images (by original index) are the validation set
    seed: int = 0                  # seed of the random split
    image_size: int | None = None  # resize every image to image_size x image_size (needed for folders of mixed sizes)
    grayscale: bool = False        # convert every image to one channel
    limit: int = 0                 # > 0: keep only the first N images of the pool (quick experiments)
    holdout_in_order: bool = False  # folder:PATH only: hold out the last N as listed, not a random sample of every class

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists)."""
        d = asdict(self)
        d["classes"] = None if self.classes is None else list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataConfig:
        """Inverse of `to_dict`; unknown keys are ignored, wrongly typed values raise ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f"data config must be a dict, not {type(d).__name__}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in d:
                try:
                    kwargs[f.name] = _FIELD_READERS[f.name](d[f.name])
                except (TypeError, ValueError, OverflowError):
                    raise ValueError(f"data config field {f.name!r} has an invalid value "
                                     f"{describe_value(d[f.name])}") from None
        return cls(**kwargs)


_MAX_COUNT = 10 ** 9                # largest image count / seed a data config may name
_MAX_CLASSES = 10_000               # longest class filter


def _read_int(value: Any, low: int = 0, high: int = _MAX_COUNT) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or int(value) != value or not low <= value <= high:
        raise TypeError
    return int(value)


def _read_fraction(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise TypeError                              # also NaN: every comparison is False
    return float(value)


def _read_classes(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) > _MAX_CLASSES:
        raise TypeError
    return tuple(_read_int(c, 0, _MAX_CLASSES) for c in value)


def _read_text(value: Any, optional: bool = False) -> str | None:
    if optional and value is None:
        return None
    if not isinstance(value, str) or len(value) > 4096 or "\x00" in value:
        raise TypeError
    return value


def _read_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


# Each field's reader: the value if it is valid (type and range), else TypeError.
_FIELD_READERS: dict[str, Any] = {
    "name": _read_text, "root": lambda v: _read_text(v, optional=True), "download": _read_bool,
    "classes": _read_classes, "val_fraction": _read_fraction, "holdout_last": _read_int,
    "seed": lambda v: _read_int(v, 0, 2 ** 63 - 1),
    "image_size": lambda v: None if v is None else _read_int(v, 1, 4096), "grayscale": _read_bool,
    "limit": _read_int, "holdout_in_order": _read_bool,
}


FOLDER_PREFIX = "folder:"
_MAX_CLASS_RANGE = 10_000


def parse_classes(text: str) -> tuple[int, ...]:
    """Parse a class filter: "1-4" -> (1, 2, 3, 4); "0,2,5-7" -> (0, 2, 5, 6, 7) (sorted, no repeats)."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",")]
    if not any(parts):
        raise ValueError("empty class list: write labels like '1-4' or '0,2,5-7'")
    chosen: set[int] = set()
    for part in parts:
        match = re.fullmatch(r"(\d+)(?:\s*[-\u2013]\s*(\d+))?", part)
        if match is None:
            raise ValueError(f"cannot read {part!r} as a class: write labels like '1-4' or '0,2,5-7'")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"class range {part!r} runs backwards: write it as '{last}-{first}'")
        if last - first >= _MAX_CLASS_RANGE:
            raise ValueError(f"class range {part!r} is too large")
        chosen.update(range(first, last + 1))
    return tuple(sorted(chosen))


def split_indices(n: int, val_fraction: float = 0.1, holdout_last: int = 0,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and validation indices into a pool of n items, each sorted by original index.

    holdout_last > 0: the last `holdout_last` items are validation. Otherwise a random
    round(n * val_fraction) items are, drawn by a generator seeded with `seed`.
    """
    if holdout_last > 0:
        if holdout_last >= n:
            raise DataError(f"Cannot hold out the last {holdout_last} images of a pool of only {n}: "
                            f"lower holdout_last (or limit does not leave enough images).")
        all_idx = torch.arange(n)
        return all_idx[: n - holdout_last], all_idx[n - holdout_last:]
    n_val = int(round(n * val_fraction))
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    return order[n_val:].sort().values, order[:n_val].sort().values


def stratified_split(labels: torch.Tensor, n_val: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and validation indices (each sorted) with ``n_val`` validation items drawn at random
    (seeded) from every label in proportion to its size (largest remainders get the extra ones).

    For sources listed class by class (folders), where "the last N" would be whole classes.
    """
    n = len(labels)
    if not 0 <= n_val < n:
        raise DataError(f"Cannot hold out {n_val} images of a pool of only {n}: hold out fewer.")
    generator = torch.Generator().manual_seed(int(seed))
    classes, counts = torch.unique(labels, return_counts=True)
    share = counts.double() * n_val / n
    take = share.floor().long()
    extra = n_val - int(take.sum())
    if extra:
        take[torch.argsort(share - take.double(), descending=True, stable=True)[:extra]] += 1
    val = [torch.nonzero(labels == c).flatten()[torch.randperm(int(k_all), generator=generator)[:int(k)]]
           for c, k_all, k in zip(classes.tolist(), counts, take)]
    val_idx = torch.cat(val).sort().values if val else torch.zeros(0, dtype=torch.long)
    keep = torch.ones(n, dtype=torch.bool)
    keep[val_idx] = False
    return torch.nonzero(keep).flatten(), val_idx


def describe_split(cfg: DataConfig) -> str:
    """Which images are held out, in words: 'the last 1000 images' or
    '1000 images drawn at random from every class (seed 0)'."""
    folder = cfg.name.strip().lower().startswith(FOLDER_PREFIX)
    if cfg.holdout_last > 0 and not (folder and not cfg.holdout_in_order):
        return f"the last {cfg.holdout_last} images" + (" as listed" if folder else "")
    amount = f"{cfg.holdout_last} images" if cfg.holdout_last > 0 else f"a random {cfg.val_fraction:.0%}"
    return f"{amount} drawn at random from every class (seed {cfg.seed})" if folder else \
        f"{amount}, seed {cfg.seed}"


# ------------------------------------------------------------------------------- the pool


def _idx_check(path: Path, what: str, ndim: int):
    """An IDX header check (before any data are read): uint8 values of ``ndim`` dimensions."""
    def check(dtype: np.dtype, dims: tuple[int, ...]) -> None:
        if dtype != np.uint8 or len(dims) != ndim:
            raise DataError(f"{path}: expected uint8 {what}, found {dtype} {dims}.")
    return check


def _read_parts(spec: DatasetSpec, parts: list[list[Path]]) -> tuple[np.ndarray, np.ndarray]:
    """Read and check every part; concatenated in order (train before test)."""
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for files in parts:
        if spec.file_format == "idx":
            x = read_idx(files[0], _idx_check(files[0], "images (n, h, w)", 3))
            y = read_idx(files[1], _idx_check(files[1], "labels (n,)", 1))
            if len(x) != len(y):
                raise DataError(f"{files[0]} holds {len(x)} images but {files[1]} holds {len(y)} labels.")
            images.append(x[:, None])
            labels.append(y.astype(np.int64))
        else:
            for batch in files:
                x, y = read_cifar_batch(batch)
                images.append(x)
                labels.append(y)
    shapes = {x.shape[1:] for x in images}
    if len(shapes) > 1:
        raise DataError(f"{spec.title} files disagree on the image shape ({sorted(shapes)}).")
    label_array = np.concatenate(labels)
    if label_array.size and (label_array.min() < 0 or label_array.max() >= spec.num_classes):
        raise DataError(f"{spec.title} labels outside 0..{spec.num_classes - 1} in {parts[0][0].parent} "
                        f"(wrong or corrupt files?).")
    return np.concatenate(images), label_array


def _registry_pool(spec: DatasetSpec, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    root = Path(cfg.root).expanduser() if cfg.root else default_data_root()
    parts, complete = _locate(spec, root)
    if not complete and cfg.download:
        try:
            _download_with_torchvision(spec, root)
        except Exception as exc:  # no network, server error, unwritable folder, bad checksum ...
            message = (f"Downloading {spec.title} into {root} failed ({type(exc).__name__}: {exc}). Check the "
                       f"internet connection, or copy the files there and use --data-root.")
            if not parts:
                raise DataError(message) from None
            warnings.warn(message + " Using the files found locally.", RuntimeWarning, stacklevel=3)
        else:
            parts, complete = _locate(spec, root)
    if not parts:
        raise DataError(_missing_message(spec, root))
    return _read_parts(spec, parts)


MAX_POOL_BYTES = 4 << 30            # uint8 pixels a loaded dataset may hold in memory
_CONVERT_CHUNK_BYTES = 256 << 20    # float32 working memory of one resizing step


def _check_pool_bytes(n_images: int, channels: int, image_size: int) -> None:
    """DataError before allocating when ``n_images`` resized images would not fit MAX_POOL_BYTES."""
    n_bytes = n_images * channels * image_size * image_size
    if n_bytes > MAX_POOL_BYTES:
        raise DataError(f"{n_images:,} images of {channels}x{image_size}x{image_size} pixels would take "
                        f"{n_bytes / 2**30:.1f} GiB, more than the {MAX_POOL_BYTES / 2**30:.0f} GiB allowed: "
                        f"lower image_size (--image-size) or limit (--limit).")


def _convert(images: torch.Tensor, image_size: int | None, grayscale: bool) -> torch.Tensor:
    """Registry images to one channel (ITU-R 601 luma, as PIL) and/or resized (antialiased bilinear)."""
    if grayscale and images.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if image_size is not None and tuple(images.shape[2:]) != (image_size, image_size):
        _check_pool_bytes(len(images), images.shape[1], image_size)
        per_image = images.shape[1] * max(image_size * image_size, images.shape[2] * images.shape[3]) * 4
        chunk = max(1, min(4096, _CONVERT_CHUNK_BYTES // per_image))   # float32 working memory per chunk
        chunks = [F.interpolate(part.float(), size=(image_size, image_size), mode="bilinear",
                                antialias=True, align_corners=False).round().clamp(0, 255).to(torch.uint8)
                  for part in images.split(chunk)]
        images = torch.cat(chunks)
    return images


def _check_config(cfg: DataConfig) -> None:
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {cfg.val_fraction}.")
    if cfg.holdout_last < 0 or cfg.limit < 0:
        raise DataError("holdout_last and limit must be >= 0.")
    if cfg.image_size is not None and not 1 <= cfg.image_size <= 4096:
        raise DataError(f"image_size must be between 1 and 4096, got {cfg.image_size}.")


def _subset(images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor,
            classes: tuple[int, ...] | None) -> ImageSet:
    x, y = images[index], labels[index]
    if classes is not None:
        keep = torch.isin(y, torch.tensor(classes, dtype=torch.long))
        x, y = x[keep], y[keep]
    return ImageSet(x.contiguous(), y.contiguous())


def load_data(cfg: DataConfig) -> DataSplits:
    """Load and split a dataset as `cfg` says; raises DataError with a plain message on any problem."""
    _check_config(cfg)
    name = cfg.name.strip()
    if name.lower().startswith(FOLDER_PREFIX):
        folder = Path(name[len(FOLDER_PREFIX):].strip()).expanduser()
        listing = list_image_folder(folder)
        files, file_labels = listing.files, listing.labels
        if cfg.limit:
            files, file_labels = files[: cfg.limit], file_labels[: cfg.limit]
        if cfg.image_size is not None:
            _check_pool_bytes(len(files), 1 if cfg.grayscale else 3, cfg.image_size)
        images = torch.from_numpy(read_image_files(files, cfg.image_size, cfg.grayscale))
        labels = torch.tensor(file_labels, dtype=torch.long)
        class_names, valid_labels = listing.class_names, range(-1, len(listing.class_names))
        name = f"{FOLDER_PREFIX}{folder}"
    else:
        key = name.lower().replace("_", "-")
        key = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}.get(key, key)
        spec = DATASETS.get(key)
        if spec is None:
            raise DataError(f"Unknown dataset {cfg.name!r}: choose one of {', '.join(DATASETS)}, "
                            f"or 'folder:PATH' for a folder of images.")
        x, y = _registry_pool(spec, cfg)
        if cfg.limit:
            x, y = x[: cfg.limit], y[: cfg.limit]
        images = _convert(torch.from_numpy(np.ascontiguousarray(x)), cfg.image_size, cfg.grayscale)
        labels = torch.from_numpy(y.astype(np.int64))
        class_names, valid_labels, name = spec.class_names, range(spec.num_classes), spec.name
    classes = None if cfg.classes is None else tuple(int(c) for c in cfg.classes)
    if classes is not None:
        unknown = [c for c in classes if c not in valid_labels]
        if unknown or not classes:
            raise DataError(f"Class filter {list(classes)} does not fit {name}: its labels are "
                            f"{valid_labels.start}..{valid_labels.stop - 1}.")
    if name.startswith(FOLDER_PREFIX) and not cfg.holdout_in_order:
        # listed class by class: the last N would be whole classes, so every class gives its share
        n_val = cfg.holdout_last if cfg.holdout_last > 0 else int(round(len(labels) * cfg.val_fraction))
        train_idx, val_idx = stratified_split(labels, n_val, cfg.seed)
    else:
        train_idx, val_idx = split_indices(len(labels), cfg.val_fraction, cfg.holdout_last, cfg.seed)
    train, val = _subset(images, labels, train_idx, classes), _subset(images, labels, val_idx, classes)
    if len(train) == 0:
        raise DataError(f"No training images left in {name} (class filter {list(classes or [])}, "
                        f"limit {cfg.limit}): widen the filter or the limit.")
    return DataSplits(train=train, val=val, name=name, class_names=tuple(class_names))
