"""The `idcheck` command: what a holder or a buyer runs on its own machine."""

from idcheck.cli.main import main

__all__ = ["main"]
