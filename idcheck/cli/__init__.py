"""The `idcheck` command: what a holder or a buyer runs on its own machine (entry point:
:func:`idcheck.cli.main.main`)."""
