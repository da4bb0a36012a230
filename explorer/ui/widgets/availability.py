"""Controls that are unavailable say why: the tooltip of a disabled control gives the reason."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

USUAL_TIP = "usualToolTip"          # dynamic property: the tooltip shown while the control is available


def set_available(widget: QWidget, available: bool, why_not: str = "") -> None:
    """Enable ``widget``, or disable it with ``why_not`` as its tooltip (its own tip comes back
    when it is enabled again)."""
    if widget.property(USUAL_TIP) is None:
        widget.setProperty(USUAL_TIP, widget.toolTip())
    widget.setEnabled(available)
    usual = widget.property(USUAL_TIP) or ""
    widget.setToolTip(usual if available or not why_not else f"{why_not}" + (f"\n({usual})" if usual else ""))
