"""What the Likelihood panel compares, Qt-free: which classes are "normal", the in/out sets, the heatmap.

* The normal classes are the ones the bundle's prior was trained on (``history.prior.data.classes``,
  e.g. (1, 2, 3, 4) for ``mnist-1to4``); None means every class.
* The sets come from held-out images (never trained on) split by label.
* The heatmap paints -log p(z_ij | z_<ij) of each code cell over the decoded image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import ImageSet


def prior_classes(history: dict | None) -> tuple[int, ...] | None:
    """The labels the bundle's prior was trained on, or None (all, or not recorded)."""
    prior = (history or {}).get("prior") or {}
    classes = (prior.get("data") or {}).get("classes")
    if not classes:
        return None
    try:
        return tuple(sorted({int(c) for c in classes}))
    except (TypeError, ValueError):
        return None


def describe_classes(classes: tuple[int, ...] | list[int]) -> str:
    """(1, 2, 3, 4) -> "1–4"; (0, 5, 6, 7, 8, 9) -> "0, 5–9"."""
    parts: list[str] = []
    values = sorted(set(int(c) for c in classes))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}–{values[j]}" if j > i + 1
                     else f"{values[i]}, {values[j]}")
        i = j + 1
    return ", ".join(parts)


@dataclass
class ImageSubset:
    """Some images of a held-out set and what they are called in the UI."""
    title: str                     # e.g. "held-out digits 1–4"
    images: np.ndarray             # uint8 (N, C, H, W)
    labels: np.ndarray             # int64 (N,), -1 where unknown
    names: list[str]               # one per image, e.g. "validation #17 (label 5)"


def subset(data: ImageSet, keep: np.ndarray, title: str, source: str, limit: int) -> ImageSubset:
    """The images of ``data`` where ``keep`` (bool (N,)) holds, at most ``limit`` of them in order."""
    index = np.flatnonzero(keep)[:limit]
    labels = data.labels.numpy()[index].astype(np.int64)
    names = [f"{source} #{i}" + (f" (label {lab})" if lab >= 0 else "") for i, lab in zip(index.tolist(), labels)]
    return ImageSubset(title, data.images.numpy()[index], labels, names)


def class_sets(data: ImageSet, normal: tuple[int, ...] | None, source: str,
               limit: int = 2000) -> dict[str, ImageSubset]:
    """The held-out sets a prior trained on ``normal`` classes is compared on.

    Keys: "in" (the normal classes; every image when ``normal`` is None), "others" (every other
    labelled image) and "class:c" for each other class c present.
    """
    labels = data.labels.numpy()
    if normal is None:
        return {"in": subset(data, np.ones(len(labels), bool), "all held-out images", source, limit)}
    is_normal = np.isin(labels, normal)
    text = describe_classes(normal)
    sets = {"in": subset(data, is_normal, f"held-out {text}", source, limit)}
    other = ~is_normal & (labels >= 0)
    if other.any():
        sets["others"] = subset(data, other, f"held-out others ({describe_classes(np.unique(labels[other]))})",
                                source, limit)
        for c in np.unique(labels[other]).tolist():
            sets[f"class:{c}"] = subset(data, labels == c, f"held-out {c}s", source, limit)
    return sets


def heat_colours(values: np.ndarray, vmax: float) -> np.ndarray:
    """Map values in [0, vmax] to RGB in [0, 1] (black -> red -> yellow -> white): (...,) -> (..., 3)."""
    t = np.clip(np.asarray(values, dtype=np.float64) / max(vmax, 1e-9), 0.0, 1.0)
    r = np.clip(3 * t, 0, 1)
    g = np.clip(3 * t - 1, 0, 1)
    b = np.clip(3 * t - 2, 0, 1)
    return np.stack([r, g, b], axis=-1)


def heatmap_rgb(decoded: np.ndarray, position_nll: np.ndarray, vmax: float | None = None,
                alpha: float = 0.6) -> np.ndarray:
    """The decoded image (C, H, W) in [0, 1] with each code cell tinted by its -log p: uint8 (H, W, 3).

    Cells at ``vmax`` nats or above are fully hot (the panel uses log K, a uniform guess, so colours
    compare across images); without ``vmax`` the map's own maximum.
    """
    img = np.clip(np.asarray(decoded, dtype=np.float64), 0, 1)
    grey = img.mean(axis=0)                                           # (H, W)
    h, w = position_nll.shape
    H, W = grey.shape
    cell = heat_colours(position_nll, vmax if vmax is not None else float(position_nll.max()))   # (h, w, 3)
    rows = (np.arange(H) * h) // H                                    # pixel row -> code row
    cols = (np.arange(W) * w) // W
    tint = cell[rows][:, cols]                                        # (H, W, 3)
    rgb = (1 - alpha) * grey[..., None] + alpha * tint
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def uniform_nats(num_codes: int) -> float:
    """-log p of one code under a uniform guess, log K: the heatmap's scale."""
    return math.log(num_codes)


def generic_folder_problem(name: str, root: Path) -> str | None:
    """Why ``name``'s files found in ``root`` cannot be trusted to be that dataset, or None.

    MNIST, Fashion-MNIST and Kuzushiji-MNIST use the same IDX file names: files lying directly
    in ``root`` (or ``root/raw``) may be any of them, e.g. a folder holding MNIST's test files
    would otherwise be read as "Fashion-MNIST". Only a dataset's own folder
    (``root/FashionMNIST/raw``, ``root/fashion-mnist``, ...) is taken as that dataset, unless
    the dataset is the only one of its file names.
    """
    from .data import DATASETS
    from .data.datasets import _locate
    spec = DATASETS[name]
    namesakes = [s for s in DATASETS.values() if s.name != name and s.test_files == spec.test_files]
    if not namesakes:
        return None
    parts, _ = _locate(spec, root)
    if not parts:
        return None
    folder = parts[0][0].parent
    if folder.resolve() in {root.resolve(), (root / "raw").resolve()}:
        others = ", ".join(s.title for s in namesakes)
        return (f"The files in {folder} have the names {spec.title} shares with {others}: put {spec.title}'s in "
                f"{root / spec.folder} to use them as {spec.title}.")
    return None


def registry_subset(name: str, root: str | None, image_size: int, channels: int, limit: int = 2000,
                    holdout_last: int = 1000) -> ImageSubset:
    """The held-out last ``holdout_last`` images of a registry dataset (e.g. Fashion-MNIST), as the model sees them.

    Raises DataError (plain message) when the files are not in ``root``.
    """
    from .data import DATASETS, DataConfig, DataError, default_data_root, load_data
    spec = DATASETS[name]
    problem = generic_folder_problem(name, Path(root).expanduser() if root else default_data_root())
    if problem:
        raise DataError(problem)
    cfg = DataConfig(name=name, root=root, holdout_last=holdout_last,
                     image_size=None if spec.image_size == image_size else image_size,
                     grayscale=channels == 1 and spec.channels != 1)
    data = load_data(cfg).val
    if data.images.shape[1] != channels:
        from .data import DataError
        raise DataError(f"{spec.title} has {data.images.shape[1]} channels; this model reads {channels}.")
    return subset(data, np.ones(len(data), bool), f"{spec.title} (held-out last {holdout_last})",
                  spec.title, limit)


def folder_subset(folder: str, image_size: int, channels: int, limit: int = 2000) -> ImageSubset:
    """Every image below ``folder`` (at most ``limit``), resized and converted to the model's input."""
    from pathlib import Path

    import torch

    from .data.formats import DataError, list_image_folder, read_image_files
    listing = list_image_folder(Path(folder))
    files = listing.files[:limit]
    images = read_image_files(files, image_size=image_size, grayscale=channels == 1)
    if images.shape[1] != channels:
        raise DataError(f"The images in {folder} have {images.shape[1]} channels; this model reads {channels}.")
    data = ImageSet(torch.from_numpy(images), torch.tensor(listing.labels[:limit], dtype=torch.long))   # -1: top level
    out = subset(data, np.ones(len(files), bool), f"folder {Path(folder).name}", "file", limit)
    out.names = [str(f.relative_to(folder)) for f in files]
    return out


def normal_images(bundle, limit: int = 2000) -> tuple[ImageSubset, str]:
    """The normal images a fitted score (the combined one) is fitted on, and where they came from.

    The validation split's images of the prior's classes when the bundle's dataset can be read
    (never trained on), else the bundle's stored examples of those classes. Raises ValueError
    (plain message) when there are none.
    """
    from .data import DataError
    from .latent_edit import load_bundle_splits
    normal = prior_classes(bundle.history)
    which = "images" if normal is None else f"images of {describe_classes(normal)}"
    try:
        data = load_bundle_splits(dict(bundle.data or {}, classes=None)).val
        source, why = "validation", f"the validation split's {{n}} {which}"
    except DataError as exc:
        data = bundle.examples
        first = str(exc).strip().splitlines()[0].rstrip(".:") if str(exc).strip() else "no dataset"
        source, why = "example", f"the bundle's {{n}} example {which} (dataset not available: {first})"
    if data is None or len(data) == 0:
        raise ValueError("no normal images to fit on: the dataset is not available and the bundle has no examples")
    keep = np.ones(len(data), bool) if normal is None else np.isin(data.labels.numpy(), normal)
    found = subset(data, keep, f"held-out {describe_classes(normal)}" if normal else "all held-out images",
                   source, limit)
    if len(found.images) == 0:
        raise ValueError(f"no normal {which} to fit on in the {'validation split' if source == 'validation' else 'examples'}")
    return found, why.format(n=len(found.images))
