"""Choosing the torch device the models run on."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:                  # torch is imported where it is used: `--help` never loads it
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """The device names this machine can actually run on, 'auto' first."""
    import torch

    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def pick_device(name: str = "auto") -> torch.device:
    """Resolve "auto" | "cpu" | "cuda" | "mps" (or "cuda:N") to a usable torch.device.

    "auto" prefers CUDA, then MPS, then CPU. Asking for a device this machine does not
    have raises ValueError with a plain message instead of failing later inside torch.
    """
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError("CUDA was requested but this machine has no usable CUDA GPU "
                             "(or this torch build has no CUDA support).")
        return torch.device(name)
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("MPS was requested but Apple's Metal backend is not available here.")
        return torch.device("mps")
    raise ValueError(f"Unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}.")


def describe_device(device: torch.device) -> str:
    """A short human label, e.g. 'cpu (2 threads)' or 'cuda:0 NVIDIA H100'."""
    import torch

    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{idx} {torch.cuda.get_device_name(idx)}"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n != 1 else ''})"
    return str(device)
