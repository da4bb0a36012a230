"""Shared test set-up: offscreen Qt, one torch thread, the shared MNIST files."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The shared MNIST test-set folder (10 000 digits, IDX gzip); skip if absent."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("shared MNIST files not found next to the repository")
    return SHARED_MNIST
