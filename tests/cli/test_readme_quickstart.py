"""README's quick start, run as written: its shell blocks (the quick start's, then the signing
and blind-mode sections'), in order, in a fresh folder, against a fresh `idcheck serve` started
there (as `make run` would be)."""

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.helpers.commands import IDCHECK

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_script() -> str:
    """Every ```sh block of README, in order; the quick start's come first."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("<!-- quickstart -->") : text.index("<!-- /quickstart -->")]
    quickstart = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert len(quickstart) >= 6
    assert blocks[: len(quickstart)] == quickstart
    return "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_quickstart_runs_as_written_from_a_fresh_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    clean |= {
        "IDCHECK_CONFIG_DIR": str(tmp_path / "config"),
        "IDCHECK_STATE_DIR": str(tmp_path / "state"),
        "PATH": f"{IDCHECK.parent}:{os.environ['PATH']}",
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(IDCHECK), "serve", "--port", str(port)],
        cwd=folder, env=clean, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_script()],
            cwd=folder, env=clean | {"IDCHECK_URL": url}, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert done.returncode == 0, done.stderr[-3000:]
    results = (folder / "results.csv").read_text(encoding="utf-8").splitlines()
    assert results[0].startswith("Prénom;Nom;E-mail;Portable;idcheck_verdict")  # the input's ;
    assert results[1].split(";")[4] == "verified"  # Jean Dupont, held by the holder
    assert results[2].split(";")[4] == "unverified"  # Paul Martin, held by nobody
    assert '"verdict":"verified"' in done.stdout.replace(" ", "")  # the sandbox's Camille
    assert (folder / "credits.csv").read_text().startswith("holder,holder_id,period,")
    assert "wrote 1 row of usage" in done.stderr
    assert (folder / "clients.ndjson").read_text().count("\n") == 2  # idcheck sign
    assert "key version 1 (hmac-sha256)" in done.stderr  # the first push
    assert "key version 2 (oprf-ristretto255-sha512)" in done.stderr  # blind after the rotation
