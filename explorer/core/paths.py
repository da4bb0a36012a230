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
