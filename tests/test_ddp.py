"""Data-parallel training: two gloo processes on the CPU, launched by torchrun.

The replicas must end bit-identical (every parameter and buffer, EMA codebook statistics
and dead-code restarts included) while each rank trained on its own shard of the data.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from explorer.core.bundle import load_bundle

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Two processes on a free port (``--standalone`` picks one), one torch thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    env.pop("WORLD_SIZE", None)
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def ranks(mnist_root: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    proc = torchrun([str(WORKER), str(out), str(mnist_root)], cwd=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def report(out: Path, rank: int) -> dict:
    return json.loads((out / f"rank{rank}.json").read_text())


@pytest.mark.parametrize("model", ["vqvae", "prior"])
def test_replicas_are_identical(ranks: Path, model: str) -> None:
    a = load_file(str(ranks / f"{model}_rank0.safetensors"))
    b = load_file(str(ranks / f"{model}_rank1.safetensors"))
    assert a.keys() == b.keys() and len(a) > 5
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == []
    if model == "vqvae":
        assert {"quantizer.codebook", "quantizer.ema_counts", "quantizer.ema_sums",
                "quantizer.steps_unused"} <= a.keys()
        assert bool(a["quantizer.initialized"])


def test_both_ranks_trained_in_one_process_group(ranks: Path) -> None:
    r0, r1 = report(ranks, 0), report(ranks, 1)
    assert (r0["rank"], r1["rank"], r0["world"], r1["world"]) == (0, 1, 2, 2)
    assert r0["device"] == r1["device"] == "cpu"
    assert r0["vqvae_wrapped"] == "VQVAE"            # steps hand back the plain model, not the DDP wrapper
    # k-means init plus at least one dead-code restart, in the same order on both ranks
    assert r0["broadcasts"] == r1["broadcasts"] and len(r0["broadcasts"]) >= 2
    assert r0["broadcasts"][0] == [64, 4]
    assert r0["vq_val_mse"] == r1["vq_val_mse"]      # identical replicas score identical validation MSE
    assert r0["prior_val_nll"] == r1["prior_val_nll"]


def test_ranks_saw_different_data(ranks: Path) -> None:
    r0, r1 = report(ranks, 0), report(ranks, 1)
    assert len(r0["vq_recon"]) == 6 and len(r0["prior_loss"]) == 5
    assert all(x != y for x, y in zip(r0["vq_recon"], r1["vq_recon"]))
    assert all(x != y for x, y in zip(r0["prior_loss"], r1["prior_loss"]))
    assert all(x != y for x, y in zip(r0["vq_counts"], r1["vq_counts"]))
    per_step = [sum(c) for c in r0["vq_counts"]]
    assert per_step == [16 * 49] * 6                 # each rank: its own 16 images x 7x7 codes


def test_cli_under_torchrun_trains_on_both_ranks_and_rank0_saves(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "ddp"
    proc = torchrun(["-m", "explorer", "train", "vqvae", "--data-root", str(mnist_root), "--out", str(out),
                     "--limit", "600", "--max-steps", "4", "--batch-size", "16", "--device", "cpu",
                     "--hidden", "16", "--res-channels", "8", "--res-blocks", "1", "--num-codes", "16",
                     "--code-dim", "4", "--examples", "8"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("Training a VQ-VAE") == 1 and "x 2 processes" in proc.stderr
    assert proc.stdout.count("Saved ") == 1
    bundle = load_bundle(out)
    assert bundle.history["processes"] == 2 and bundle.history["steps"] == 4
    assert bundle.history["images_per_s"] > 0 and len(bundle.examples) == 8
    assert sorted(p.name for p in out.parent.iterdir()) == ["ddp"]     # no temp folders from rank 1
