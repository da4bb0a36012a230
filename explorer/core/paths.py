"""Where things live: the shipped models next to the package (editable installs)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def trained_models_dir() -> Path:
    """``trained_models/`` of the source tree (override with DLE_TRAINED_MODELS)."""
    return Path(os.environ.get("DLE_TRAINED_MODELS", REPO_ROOT / "trained_models"))


def default_bundle_path() -> Path | None:
    """The bundle the app opens on first launch: trained_models/mnist, if present."""
    path = trained_models_dir() / "mnist"
    return path if (path / "config.json").is_file() else None


def is_read_only_bundle(path: str | Path | None) -> bool:
    """Whether a bundle folder must not be written: a shipped one (under trained_models/) or one
    whose folder this user cannot write."""
    if path is None:
        return False
    path = Path(path).expanduser().resolve()
    shipped = trained_models_dir().resolve()
    if path == shipped or shipped in path.parents:
        return True
    return path.is_dir() and not os.access(path, os.W_OK)
