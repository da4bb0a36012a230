"""Loading and saving bundles off the GUI thread, and stopping every worker at exit.

A loaded :class:`Bundle` is built in the worker thread and handed over whole: the worker
keeps no reference, so from then on only the GUI thread touches it. Saving works on a deep
copy taken in the GUI thread, so training snapshots applied meanwhile cannot race the write.
"""
from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QThreadPool
from superqt.utils import FunctionWorker, WorkerBase, create_worker

from explorer.core.bundle import Bundle, load_bundle


def _load(path: str) -> tuple[Bundle, str]:
    return load_bundle(path), path


def _save(bundle: Bundle, path: str) -> str:
    bundle.save(path)
    return str(Path(path).resolve())


def load_bundle_async(path: str | Path) -> FunctionWorker:
    """A worker (connect, then ``start()`` it) whose ``returned`` gives ``(bundle, path)``.

    ``errored`` gives the exception: a BundleError with a plain message for any bad folder.
    """
    return create_worker(_load, str(path), _start_thread=False, _ignore_errors=True)


def save_bundle_async(bundle: Bundle, path: str | Path) -> FunctionWorker:
    """A worker (connect, then ``start()`` it) writing a deep copy of ``bundle`` atomically.

    ``returned`` gives the resolved path; ``errored`` the exception.
    """
    frozen = copy.deepcopy(bundle)
    return create_worker(_save, frozen, str(path), _start_thread=False, _ignore_errors=True)


def shutdown_workers(timeout_ms: int = 10_000, rounds: int = 5) -> bool:
    """Ask every superqt worker to quit, wait for the global thread pool, deliver their results.

    Results still queued for the GUI thread are delivered while the widgets that asked for them
    are alive; a slot may start a follow-up worker, hence a few rounds. True when all is idle.
    """
    pool = QThreadPool.globalInstance()
    for _ in range(rounds):
        try:
            WorkerBase.await_workers(timeout_ms)
        except RuntimeError:
            return False
        QCoreApplication.sendPostedEvents()
        if pool.activeThreadCount() == 0 and not WorkerBase._worker_set:
            return True
    return False
