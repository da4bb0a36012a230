"""Fixtures for the GUI tests: isolated settings, a tiny bundle, and no leaked threads.

* every test gets its own QSettings folder (INI format, under tmp_path);
* ``tiny_bundle`` / ``app_state``: an untrained tiny VQ-VAE (K=16, D=4) and prior, with a few
  real MNIST digits as examples, for any panel's tests;
* ``main_window``: a MainWindow on the tiny bundle, stopped and closed after the test;
* every test fails if it leaves a worker thread or a QThread running (as napari's conftest).
"""
from __future__ import annotations

import gc
import os
import time
import weakref
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QSettings, QThread, QThreadPool

from explorer.core.bundle import Bundle
from explorer.core.data import DataConfig, ImageSet, load_data
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

# As tests/conftest.py: $DLE_TEST_MNIST, else ../shared/data/mnist next to the checkout.
SHARED_MNIST = Path(os.environ.get("DLE_TEST_MNIST")
                    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist")
TINY_VQVAE = dict(hidden_channels=16, res_channels=8, num_codes=16, code_dim=4)
TINY_PRIOR = dict(num_codes=16, channels=16, layers=2, head_channels=16)


def tiny_data_config(root: Path | str = SHARED_MNIST, limit: int = 600, holdout: int = 100) -> DataConfig:
    """The first ``limit`` MNIST digits, the last ``holdout`` of them held out."""
    return DataConfig(name="mnist", root=str(root), limit=limit, holdout_last=holdout)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path):
    """QSettings of this test only: INI files under tmp_path."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield tmp_path / "settings"


@pytest.fixture(autouse=True)
def no_threads_left(qapp, monkeypatch):
    """Fail a test that leaves a superqt worker, a thread-pool thread or a QThread running.

    Autouse and depending only on ``qapp``, so it is set up before ``qtbot`` and checks after
    qtbot has closed the test's widgets.
    """
    from superqt.utils import WorkerBase

    started: list[weakref.ref] = []
    original_start = QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield
    pool = QThreadPool.globalInstance()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        qapp.processEvents()
        running_qthreads = [t for t in (r() for r in started) if t is not None and t.isRunning()]
        if pool.activeThreadCount() == 0 and not WorkerBase._worker_set and not running_qthreads:
            # Free this test's widgets now, on the GUI thread: a cyclic-GC pass that a later test's
            # worker thread happens to trigger would destroy them there and can deadlock on the GIL.
            gc.collect()
            return
        time.sleep(0.02)
    leaked = (f"{pool.activeThreadCount()} pool thread(s), {len(WorkerBase._worker_set)} superqt worker(s), "
              f"{len(running_qthreads)} QThread(s)")
    WorkerBase.await_workers(10_000)
    for thread in running_qthreads:
        thread.quit()
        thread.wait(5_000)
    pytest.fail(f"the test left threads running: {leaked}")


def _example_images(n: int = 32) -> ImageSet:
    if (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        val = load_data(tiny_data_config(limit=200, holdout=n)).val
        return ImageSet(val.images[:n].clone(), val.labels[:n].clone())
    g = torch.Generator().manual_seed(0)
    return ImageSet(torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g),
                    torch.full((n,), -1, dtype=torch.long))


def make_tiny_bundle(with_prior: bool = True) -> Bundle:
    """An untrained tiny VQ-VAE (K=16, D=4, 7x7 grid) and prior; no path (unsaved)."""
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(**TINY_VQVAE)).eval()
    prior = build_prior(PriorConfig(**TINY_PRIOR)).eval() if with_prior else None
    return Bundle(vqvae=vqvae, prior=prior, name="tiny", data=tiny_data_config().to_dict(),
                  examples=_example_images())


@pytest.fixture
def tiny_bundle() -> Bundle:
    return make_tiny_bundle()


@pytest.fixture
def app_state(qapp, tiny_bundle):
    """An AppState holding the tiny bundle."""
    from explorer.ui.state import AppState
    return AppState(tiny_bundle)


@pytest.fixture
def main_window(qtbot, tiny_bundle):
    """A shown MainWindow on the tiny bundle; any training is discarded before it closes."""
    from explorer.ui import MainWindow
    window = MainWindow(bundle=tiny_bundle)
    # pytest-qt closes registered widgets before fixtures tear down: discard any run first,
    # so closing never asks what to do with it.
    # Trained weights are forgotten too, so closing never asks to save them.
    qtbot.addWidget(window, before_close_func=lambda w: (w.train_panel.finish_now(keep=False),
                                                         w.model_bar.forget_changes()))
    window.show()
    qtbot.waitExposed(window)
    yield window
