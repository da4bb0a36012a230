"""Shared test set-up: offscreen Qt, one torch thread, the shared MNIST files."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
# The repository's test data, by an explicit path: $DLE_TEST_MNIST, else ../shared/data/mnist
# next to the checkout. (Bundles and the app never default to it.)
SHARED_MNIST = Path(os.environ.get("DLE_TEST_MNIST") or REPO.parent / "shared" / "data" / "mnist")


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The shared MNIST test-set folder (10 000 digits, IDX gzip); skip if absent."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test files not found in {SHARED_MNIST} (set DLE_TEST_MNIST)")
    return SHARED_MNIST
