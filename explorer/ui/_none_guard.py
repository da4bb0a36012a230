"""A guard against a reference-count bug of PySide6 6.12.0 that crashes CPython < 3.12.

PySide6/shiboken6 6.12.0 return ``None`` from every void method (``QWidget.update``,
``QPainter.drawLine``, ``QObject.setObjectName`` …) without taking a reference to it. From
CPython 3.12 on, None is immortal and nothing happens; on 3.10/3.11 each call takes one
reference away from None, and after a few thousand calls (a few seconds of plotting) the
interpreter aborts with "Fatal Python error: none_dealloc". PySide6 6.11.x does not have
the bug; pinning ``PySide6-Essentials!=6.12.0`` avoids it.

:func:`protect_none` detects the leak at start-up (it measures it: no version guessing) and,
only where it happens, gives None a very large reference count, which is what 3.12 does.
"""
from __future__ import annotations

import ctypes
import sys

BALLAST = 1 << 40                  # ~10^12 references: decades of leaked calls
_protected = False


def pyside_leaks_none(calls: int = 64) -> bool:
    """Whether a void PySide6 method drops a reference to None (measured, not guessed)."""
    from PySide6.QtCore import QObject
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - calls // 2


def protect_none() -> bool:
    """Make None effectively immortal when PySide6 leaks it; True if the guard was applied."""
    global _protected
    if _protected or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _protected
    if pyside_leaks_none():
        ctypes.c_ssize_t.from_address(id(None)).value += BALLAST
        _protected = True
    return _protected
