"""Command line: ``python -m explorer [gui|train|sample|evaluate|ensemble|score|screenshot] ...``.

Only ``gui`` and ``screenshot`` import Qt (lazily); everything else is headless. Mistakes
a user can make (missing data, a corrupt bundle, an unavailable device) print a plain
message on stderr and return exit code 2, never a traceback.
"""
from __future__ import annotations

import sys
from typing import Sequence

from .common import EXIT_USER_ERROR, CliError, command_line


def _prog() -> str:
    arg0 = sys.argv[0] if sys.argv else ""
    return "python -m explorer" if arg0.endswith("__main__.py") or not arg0 else "discrete-explorer"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return the exit code."""
    from .parser import build_parser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_prog())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:             # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    from ..core.bundle import BundleError   # torch: only once a command runs, never for --help
    from ..core.data import DataError
    args.command_line = command_line(argv)
    try:
        return _dispatch(args)
    except (CliError, DataError, BundleError) as exc:
        print(f"error: {short_message(str(exc))}", file=sys.stderr)
    except FileNotFoundError as exc:
        print(f"error: file not found: {exc.filename or exc}", file=sys.stderr)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return EXIT_USER_ERROR


def short_message(message: str) -> str:
    """At most two lines: indented continuation lines (e.g. a list of folders) join the line above."""
    lines: list[str] = []
    for line in message.strip().splitlines():
        if lines and line[:1].isspace():
            lines[-1] += (" " if lines[-1].endswith(":") else ", ") + line.strip()
        elif line.strip():
            lines.append(line.strip())
    return "\n".join(lines) if len(lines) <= 2 else " ".join(lines)


def _dispatch(args) -> int:
    if args.command in (None, "gui"):
        from .app import run_gui
        return run_gui(args)
    if args.command == "train":
        from .train import run_train_prior, run_train_vqvae
        return run_train_vqvae(args) if args.model == "vqvae" else run_train_prior(args)
    if args.command == "sample":
        from .inspect import run_sample
        return run_sample(args)
    if args.command == "evaluate":
        from .inspect import run_evaluate
        return run_evaluate(args)
    if args.command == "ensemble":
        from .ensemble import run_ensemble
        return run_ensemble(args)
    if args.command in ("compress", "decompress"):
        from .compress import run_compress, run_decompress
        return run_compress(args) if args.command == "compress" else run_decompress(args)
    if args.command == "score":
        from .score import run_score
        return run_score(args)
    if args.command == "compare-quantizers":
        from .compare_quantizers import run_compare_quantizers
        return run_compare_quantizers(args)
    if args.command == "screenshot":
        from .app import run_screenshot
        return run_screenshot(args)
    raise CliError(f"unknown command {args.command!r}")


__all__ = ["CliError", "main"]
