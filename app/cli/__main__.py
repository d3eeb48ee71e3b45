"""python -m app.cli: the same as the `idcheck` command."""

from app.cli import main

main()
