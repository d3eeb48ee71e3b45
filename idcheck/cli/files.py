"""Files named on the command line; output files that appear whole or not at all."""

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click

#: A file to read or write, named on the command line (never a directory).
FILE_PATH = click.Path(path_type=Path, dir_okay=False)


@contextmanager
def atomic_text_file(path: Path | None) -> Iterator[TextIO]:
    """Write to a temporary file beside ``path`` and rename it on success; None means stdout.

    On any error the temporary file is removed, so no partial output is ever left behind.
    """
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    directory = path.resolve().parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
