"""Datasets: a registry of image sources and deterministic train/validation splits.

(Skeleton: the registry and loaders are filled in by the data module work.)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


class DataError(Exception):
    """A dataset could not be loaded; the message says what to do."""


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
