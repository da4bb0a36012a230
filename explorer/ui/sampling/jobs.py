"""Run one function at a time off the GUI thread (superqt worker) and hand back the newest result.

The Sampling panel measures receptive fields, the sampling cost and the gallery batch in
workers, always on deep copies of the models (the display models may be training). Every
request has a key; a result whose key is no longer the wanted one is dropped, and a request
made while a worker runs waits for it (only the newest waiting request is kept).
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from superqt.utils import thread_worker


class LatestJob(QObject):
    """``request(key, fn, *args)`` emits ``done(key, result)`` or ``failed(key, message)`` later."""

    done = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.wanted: Any = None                      # key of the newest request
        self._running: Any = None                    # key a worker computes now
        self._waiting: tuple | None = None           # (key, fn, args) to start when it ends

    @property
    def busy(self) -> bool:
        return self._running is not None or self._waiting is not None

    def request(self, key: Any, fn: Callable, *args) -> None:
        self.wanted = key
        if self._running is not None:
            self._waiting = (key, fn, args)
            return
        self._start(key, fn, args)

    def forget(self) -> None:
        """Whatever is computing is no longer wanted."""
        self.wanted, self._waiting = None, None

    def _start(self, key: Any, fn: Callable, args: tuple) -> None:
        self._running = key
        worker = thread_worker(fn, start_thread=False, ignore_errors=True)(*args)
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        worker.finished.connect(self._finished)
        worker.start()

    def _returned(self, result: object) -> None:
        if self._running is not None and self._running == self.wanted:
            self.done.emit(self._running, result)

    def _errored(self, exc: BaseException) -> None:
        if self._running is not None and self._running == self.wanted:
            self.failed.emit(self._running, f"{type(exc).__name__}: {exc}")

    def _finished(self) -> None:
        self._running = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None and waiting[0] == self.wanted:
            self._start(*waiting)
