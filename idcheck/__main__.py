"""python -m idcheck: the same as the `idcheck` command."""

from idcheck.cli.main import main

main()
