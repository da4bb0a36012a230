"""The mixture-of-experts training in a worker thread (the shared :class:`GeneratorRun`), pausable.

The worker steps :func:`explorer.core.routing.train_routing`; each snapshot (numpy copies only)
arrives in the GUI thread as ``event(object)`` (a ``RoutingSnapshot``). Pause and Abort take
effect at the next snapshot (every few training steps).
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from explorer.core.routing import RoutingConfig, train_routing

from ..workers.generator_run import GeneratorRun


class RoutingRun(GeneratorRun):
    """Start, pause, resume and abort one routing run."""

    def __init__(self, config: RoutingConfig, parent: QObject | None = None) -> None:
        super().__init__(train_routing, config, parent=parent)
        self.config = config
