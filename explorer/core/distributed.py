"""Data-parallel set-up for runs launched by ``torchrun`` (no Qt, nothing home-made).

``torchrun --nproc_per_node N -m explorer train vqvae ...`` starts N processes with
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set.
:func:`init_from_env` turns that into an initialised process group (NCCL with one GPU
per process, gloo on the CPU); the training loops then wrap their models in
DistributedDataParallel and shard every batch by rank. Only rank 0 should print or save.
Outside torchrun (``WORLD_SIZE`` unset or 1) nothing is initialised.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist

from .device import pick_device


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when unset or unreadable)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def init_from_env(device_name: str = "auto") -> tuple[torch.device, int, int]:
    """Initialise torch.distributed when launched by torchrun; return (device, rank, world).

    With ``WORLD_SIZE`` > 1: a CUDA device (``device_name`` "auto" on a CUDA machine, or
    "cuda") becomes ``cuda:LOCAL_RANK`` with the NCCL backend; anything else runs on the
    CPU with gloo (MPS cannot join a process group). If a process group already exists
    (a caller set one up), it is used as is. Otherwise returns ``pick_device(device_name)``,
    rank 0 and world 1. Raises ValueError (plain message) for a device this machine lacks.
    """
    if dist.is_available() and dist.is_initialized():
        device = pick_device(device_name)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return device, dist.get_rank(), dist.get_world_size()
    world = env_world_size()
    if world <= 1:
        return pick_device(device_name), 0, 1
    if not dist.is_available():
        raise ValueError("WORLD_SIZE > 1 asks for data-parallel training, but this torch build "
                         "has no torch.distributed support.")
    device = pick_device(device_name)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK {local_rank} has no GPU: this machine has "
                             f"{torch.cuda.device_count()}; start fewer processes per node.")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend=backend)
    return device, dist.get_rank(), dist.get_world_size()


def is_main_process() -> bool:
    """True on rank 0, and always when no process group is initialised."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def cleanup() -> None:
    """Destroy the process group if one is initialised (safe to call more than once)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
