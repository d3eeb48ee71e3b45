"""python -m idcheck: the same as the `idcheck` command."""

from idcheck.cli import main

main()
