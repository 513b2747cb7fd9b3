"""The console script's first step: ``regtls --version`` is answered before the command line (typer) loads."""

from __future__ import annotations

import sys

from analyzer import __version__


def main() -> None:
    """Print the version at once, or run the command line."""
    if sys.argv[1:] in (["--version"], ["-V"]):
        sys.stdout.write(f"regtls {__version__}\n")
        sys.stdout.flush()
        return
    from analyzer.cli import main as command_line

    command_line()
