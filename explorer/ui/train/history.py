"""The metrics of a training run, accumulated step by step for the plots (Qt-free).

The worker's progress records are appended here as they arrive (cheap); the plots read the
arrays on a timer, at most 20 times a second, only when :attr:`TrainingHistory.revision` moved.
"""
from __future__ import annotations

from typing import Any

import numpy as np

USAGE_DECAY = 0.95                 # the usage histogram forgets old steps: about the last 20 count


class Series:
    """A growable float64 array (amortised O(1) append)."""

    def __init__(self) -> None:
        self._data = np.empty(256, dtype=np.float64)
        self._n = 0

    def append(self, value: float | None) -> None:
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self._n] = np.nan if value is None else value
        self._n += 1

    def __len__(self) -> int:
        return self._n

    @property
    def values(self) -> np.ndarray:
        """A view of the values so far (do not keep it across appends)."""
        return self._data[:self._n]


class TrainingHistory:
    """Curves of one VQ-VAE run and one prior run, the recent code usage and the last preview."""

    VQVAE_SERIES = ("step", "recon_loss", "codebook_loss", "commitment_loss", "kl_loss", "perplexity",
                    "codes_used")
    PRIOR_SERIES = ("step", "loss")

    def __init__(self) -> None:
        self.clear("vqvae")
        self.clear("prior")
        self.revision = 0

    def clear(self, which: str) -> None:
        """Forget one run's curves (a new run of that kind starts)."""
        if which == "vqvae":
            self.vqvae = {name: Series() for name in self.VQVAE_SERIES}
            self.vqvae_val = {name: Series() for name in ("step", "mse")}
            self.usage: np.ndarray | None = None
            self.preview: tuple[np.ndarray, np.ndarray] | None = None
            self.preview_step = 0
        else:
            self.prior = {name: Series() for name in self.PRIOR_SERIES}
            self.prior_val = {name: Series() for name in ("step", "nll", "accuracy")}
        self.latest: dict[str, Any] = {}
        self.revision = getattr(self, "revision", 0) + 1

    def add(self, which: str, values: dict[str, Any]) -> None:
        """Append one step record (the dict a worker's Progress event carries)."""
        self.latest = values
        if which == "vqvae":
            self._add_vqvae(values)
        else:
            self._add_prior(values)
        self.revision += 1

    def _add_vqvae(self, v: dict[str, Any]) -> None:
        counts = np.asarray(v["code_counts"], dtype=np.float64)
        k = counts.shape[0]
        for name in ("step", "recon_loss", "codebook_loss", "commitment_loss", "kl_loss", "perplexity"):
            self.vqvae[name].append(v[name])
        self.vqvae["codes_used"].append(v["usage"] * k)
        if self.usage is None or self.usage.shape != counts.shape:
            self.usage = np.zeros_like(counts)
        self.usage = self.usage * USAGE_DECAY + counts
        if v.get("val_mse") is not None:
            self.vqvae_val["step"].append(v["step"])
            self.vqvae_val["mse"].append(v["val_mse"])
        if v.get("preview") is not None:
            self.preview = v["preview"]
            self.preview_step = v["step"]

    def _add_prior(self, v: dict[str, Any]) -> None:
        self.prior["step"].append(v["step"])
        self.prior["loss"].append(v["loss"])
        if v.get("val_nll") is not None:
            self.prior_val["step"].append(v["step"])
            self.prior_val["nll"].append(v["val_nll"])
            self.prior_val["accuracy"].append(v.get("val_accuracy"))

    def usage_fraction(self) -> np.ndarray | None:
        """Recent code usage as a fraction of all assignments (sums to 1), or None before training."""
        if self.usage is None:
            return None
        total = self.usage.sum()
        return self.usage / total if total > 0 else self.usage


def format_duration(seconds: float | None) -> str:
    """A duration that cannot be read as a clock time: "9 s", "17 min", "1 h 05 min"."""
    if seconds is None or not np.isfinite(seconds):
        return "–"
    seconds = int(round(max(0.0, seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(v: dict[str, Any]) -> str:
    """The progress bar's text for a step record: step, total and time left."""
    if not v:
        return "idle"
    return f"{v['step']} / {v['total_steps']} · ETA {format_duration(v.get('eta_s'))}"


def status_text(which: str, v: dict[str, Any]) -> str:
    """The line under the progress bar while training: epoch, the main metrics, speed."""
    if which == "vqvae":
        main = f"recon {v['recon_loss']:.4f} · perplexity {v['perplexity']:.1f}"
        what = "VQ-VAE"
    else:
        main = f"NLL {v['loss']:.3f} nats/latent"
        what = "prior"
    return f"Training the {what}: epoch {v['epoch']:.1f} · {main} · {v['images_per_s']:.0f} images/s"
