"""Before Qt starts: can it open a window here? One plain line instead of Qt's abort message.

Qt aborts with "could not load the Qt platform plugin "xcb" ... Reinstalling the application
may fix this problem", which sends people to reinstall Python packages when a system library
is missing. :func:`platform_problem` looks first (no Qt import, nothing created) and says what
to install.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable, Mapping

# Libraries Qt 6's xcb plugin loads (soname -> Debian/Ubuntu package), beyond libxcb itself.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxcb.so.1": "libxcb1", "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxkbcommon.so.0": "libxkbcommon0", "libX11-xcb.so.1": "libx11-xcb1",
}
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def platform_problem(env: Mapping[str, str] | None = None, platform: str | None = None,
                     loads: Callable[[str], bool] = _loads) -> str | None:
    """None when Qt should be able to open a window, else one line saying what to do."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in HEADLESS_PLATFORMS or qpa.startswith("wayland"):
        return None
    if not qpa and env.get("WAYLAND_DISPLAY"):
        return None                                  # Qt picks its Wayland plugin
    if not env.get("DISPLAY"):
        return ("No display to open a window on (DISPLAY is not set): start the app from a desktop session, "
                "or use QT_QPA_PLATFORM=offscreen for `python -m explorer screenshot`.")
    missing = [package for soname, package in XCB_LIBRARIES.items() if not loads(soname)]
    if missing:
        return (f"Qt cannot open a window: system libraries are missing. Install them, e.g. "
                f"`sudo apt-get install {' '.join(missing)}` (see the README's Set-up).")
    return None
