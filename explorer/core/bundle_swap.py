"""Putting a saved bundle in place atomically, and repairing what a killed save left behind.

A save writes the new bundle into ``.NAME.tmp-PID-ID`` beside the target, moves an existing
bundle aside to ``.NAME.old-PID-ID`` and renames the new one into place. Each of these folders
holds a marker file (:data:`SAVE_MARKER`) naming its role, the target, the process and the ID,
so recovery can tell the folders a save created from anything a user keeps beside a bundle
(``.model.old-backup``, ``.model.tmp-1999``): only marked folders are ever moved or deleted.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import threading
from pathlib import Path

from .safe_io import UnsafeInput, parse_json, read_regular_file

_ACTIVE: set[str] = set()          # temporary and moved-aside folder names this process is using now
_SWAP_LOCK = threading.Lock()
_LEFTOVER = re.compile(r"(old|tmp)-(\d{1,10})-([A-Za-z0-9_]{1,32})")
SAVE_MARKER = ".dle-save.json"     # inside every folder a save creates or moves aside: proof it is ours
_MARKER_FORMAT = "discrete-latent-explorer-bundle/save"   # bundle.FORMAT_NAME + "/save"


def _marker(role: str, target: str, token: str) -> dict:
    return {"format": _MARKER_FORMAT, "role": role, "target": target, "id": token, "pid": os.getpid()}


def _write_marker(folder: Path, role: str, target: str, token: str) -> None:
    """Mark ``folder`` as a save's ``role`` ('tmp' or 'old') half of saving ``target``; its name ends in ``token``."""
    data = json.dumps(_marker(role, target, token)).encode("utf-8")
    fd = os.open(folder / SAVE_MARKER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_marker(folder: Path) -> None:
    try:
        os.unlink(folder / SAVE_MARKER)
    except OSError:
        pass


def _is_our_leftover(folder: str, role: str, target: str, pid: int, token: str) -> bool:
    """Whether ``folder`` is a real folder holding the marker a save of ``target`` put there."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        found = parse_json(read_regular_file(Path(folder) / SAVE_MARKER, 4096))
    except (OSError, UnsafeInput):
        return False
    return found == {"format": _MARKER_FORMAT, "role": role, "target": target, "id": token, "pid": pid}


def _swap_into_place(tmp: Path, path: Path) -> None:
    """rename(tmp -> path), moving an existing bundle aside first and restoring it on failure.

    The bundle moved aside first gets a marker file (SAVE_MARKER) naming this save; a kill
    between the two renames leaves ``.NAME.old-PID-ID`` holding that marker and no ``path``:
    the next load or save of ``path`` calls :func:`recover_interrupted_save`, which renames it back.
    """
    old = None
    with _SWAP_LOCK:
        if os.path.lexists(path):
            token = secrets.token_hex(4)
            old = path.with_name(f".{path.name}.old-{os.getpid()}-{token}")
            _ACTIVE.add(old.name)
    try:
        if old is not None:
            try:
                _write_marker(path, "old", path.name, token)
            except OSError:                           # a read-only folder: moved aside unmarked (kept, not recovered)
                pass
            try:
                os.replace(path, old)
            except BaseException:
                _remove_marker(path)
                raise
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
                _remove_marker(path)
            raise
        _remove_marker(path)                          # the new bundle's own marker (from its tmp folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if old is not None:
            _ACTIVE.discard(old.name)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def recover_interrupted_save(path: str | Path) -> bool:
    """Repair what a killed save of ``path`` left behind; True if a bundle was put back.

    Only folders a save of ``path`` itself created are touched: named ``.NAME.old-PID-ID`` or
    ``.NAME.tmp-PID-ID`` and holding the marker file (SAVE_MARKER) that names NAME, the role,
    PID and ID; anything else (a user's ``.model.old-backup``, another bundle's leftovers) is
    never moved or deleted. A marked ``old`` folder (the previous bundle, moved aside) is renamed
    back to ``path`` when ``path`` is missing; otherwise it is obsolete and removed, as are marked
    ``tmp`` folders. Leftovers of a process that is still running (another save in progress) are
    left alone. Never raises: a folder that cannot be repaired stays as it is.
    """
    try:
        path = Path(path).absolute()
        prefix = f".{path.name}."
        stale: list[tuple[str, os.DirEntry]] = []
        with _SWAP_LOCK:
            with os.scandir(path.parent) as it:
                entries = [e for e in it if e.name.startswith(prefix) and e.name not in _ACTIVE]
            for entry in entries:
                match = _LEFTOVER.fullmatch(entry.name[len(prefix):])
                if match is None:
                    continue
                role, pid, token = match.group(1), int(match.group(2)), match.group(3)
                if pid != os.getpid() and _process_alive(pid):
                    continue
                if _is_our_leftover(entry.path, role, path.name, pid, token):
                    stale.append((role, entry))
        olds = sorted((e for role, e in stale if role == "old"),
                      key=lambda e: e.stat(follow_symlinks=False).st_mtime, reverse=True)
        restored = False
        if olds and not os.path.lexists(path):
            os.replace(olds.pop(0).path, path)
            _remove_marker(path)
            restored = True
        for _, entry in stale:                  # killed saves' halves and superseded old bundles
            if os.path.lexists(entry.path):
                shutil.rmtree(entry.path, ignore_errors=True)
        return restored
    except Exception:  # a read-only or vanished folder: loading reports what is (not) there
        return False
