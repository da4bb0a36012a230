"""``python -m explorer`` and the ``discrete-explorer`` console script."""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (the GUI when no subcommand is given); return the exit code."""
    from explorer.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
