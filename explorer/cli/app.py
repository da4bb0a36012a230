"""``gui`` and ``screenshot``: the only subcommands that import Qt, and only when run."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from .common import CliError, check_output_file


def run_gui(args: argparse.Namespace) -> int:
    """Start the desktop app, optionally opening ``--bundle``."""
    bundle = getattr(args, "bundle", None)
    if bundle is not None and not Path(bundle).is_dir():
        raise CliError(f"No bundle folder at {bundle}.")
    from ..ui.platform_check import platform_problem
    problem = platform_problem()
    if problem:                          # instead of Qt's misleading "reinstalling may fix this" abort
        raise CliError(problem)
    try:
        from ..ui.app import run_app
    except ImportError as exc:
        raise CliError(_gui_missing(exc)) from None
    return int(run_app(bundle) or 0)


def _gui_missing(exc: ImportError) -> str:
    """Why the GUI cannot be imported: a missing dependency, or a missing part of this installation."""
    if (exc.name or "").startswith("explorer"):
        return f"The GUI cannot start: this installation lacks {exc.name}."
    return (f"The GUI cannot start: {exc}.\nInstall the app's dependencies with `pip install -e .` "
            f"(PySide6, pyqtgraph, superqt).")


def parse_size(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800); CliError unless both are between 64 and 8192."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*", text)
    if match is None:
        raise CliError(f"--size must look like 1280x800, got {text!r}.")
    w, h = int(match.group(1)), int(match.group(2))
    if not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise CliError(f"--size must be between 64x64 and 8192x8192, got {w}x{h}.")
    return w, h


def run_screenshot(args: argparse.Namespace) -> int:
    """Render one panel offscreen into a PNG."""
    size = parse_size(args.size)
    if args.bundle is not None and not Path(args.bundle).is_dir():
        raise CliError(f"No bundle folder at {args.bundle}.")
    try:
        from ..ui.screenshot import render_panel
    except ImportError as exc:
        raise CliError("Screenshots need the GUI. " + _gui_missing(exc)) from None
    out = Path(args.out)
    check_output_file(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        clipped: list[str] | None = [] if getattr(args, "check_fit", False) else None
        options = {"clipped": clipped} if clipped is not None else {}
        render_panel(args.panel, str(out), bundle_path=args.bundle, size=size,
                     presentation=args.presentation, help_dialog=args.help_dialog, **options)
    except (KeyError, ValueError) as exc:      # an unknown panel name
        raise CliError(f"Cannot render panel {args.panel!r}: {exc}") from None
    print(f"Wrote {out}")
    if clipped:
        print(f"{len(clipped)} texts do not fit:\n" + "\n".join(clipped))
        return 1
    return 0
