"""Running `idcheck` as a user does: the installed console script, in a subprocess."""

from pathlib import Path

import pytest

from tests.helpers.commands import KEY_HEX


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.key"
    path.write_text(KEY_HEX + "\n")
    return path
