"""Running `idcheck` as a user does: the installed console script, in a subprocess."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

IDCHECK = Path(sys.executable).with_name("idcheck")


KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def idcheck(*args: str | Path, cwd: Path | None = None) -> Run:
    done = subprocess.run(
        [str(IDCHECK), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=300,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)
