"""Where the app keeps its settings: QSettings (INI format, user scope) under these names.

Tests point QSettings at a temporary folder with ``QSettings.setPath``.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "DiscreteLatentExplorer"
APPLICATION = "Discrete Latent Explorer"


def settings_store() -> QSettings:
    """The app's settings (INI format, user scope), wherever QSettings.setPath points."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
