"""A real `idcheck serve` (uvicorn) in a subprocess, over real sockets, plain or TLS."""

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signatures import sign_record
from tests.helpers.commands import IDCHECK
from tests.helpers.databases import MASTER_KEY
from tests.helpers.databases import Database


@dataclass
class Server:
    url: str
    admin_key: str
    log: Path
    verify: ssl.SSLContext | bool = True
    pid: int = 0  # the `idcheck serve` process (with one worker, the one that answers)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.verify, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, made here with `cryptography`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idcheck test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(IDCHECK), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def start_server(
    database: Database,
    workdir: Path,
    *,
    tls: bool = False,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    env = {
        **os.environ,
        "IDCHECK_ENV": "test",
        "IDCHECK_DATABASE_URL": database.url,
        "IDCHECK_MASTER_KEY": MASTER_KEY,
        **(extra_env or {}),
    }
    _run(["migrate"], env, workdir)
    _run(["admin", "create-org", "root", "--role", "admin"], env, workdir)
    admin_key = _run(["admin", "create-key", "root", "--label", "e2e"], env, workdir)
    port = _free_port()
    args = [
        str(IDCHECK),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    verify: ssl.SSLContext | bool = True
    if tls:
        cert, key = self_signed_certificate(workdir)
        args += ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
        verify = ssl.create_default_context(cafile=str(cert))
    scheme = "https" if tls else "http"
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(args, env=env, cwd=workdir, stdout=output, stderr=output)
    server = Server(f"{scheme}://127.0.0.1:{port}", admin_key, log, verify, process.pid)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with server.client() as client:
                    if client.get("/healthz").status_code == 200:
                        break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start:\n" + log.read_text()
            time.sleep(0.1)
        # One worker answering is not all of them: a test that disturbs the database must not
        # catch another still in its startup.
        while log.read_text().count("Application startup complete") < workers:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "a worker did not start:\n" + log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def signed_upload(
    person: dict[str, str], key: bytes, version: int, external_id: str
) -> dict[str, Any]:
    """A holder's upload record of ``person``, signed here with the HMAC key of ``version``."""
    return {
        "external_id": external_id,
        "updated_at": "2026-06-01",
        "key_version": version,
        "signatures": sign_record(person, key).signatures,
    }


def remote_org(client: httpx.Client, admin: str, role: str, name: str) -> tuple[str, str]:
    """An organisation made by the admin, and a key of it: (org id, key)."""
    org = client.post("/v1/admin/orgs", json={"name": name, "role": role}, headers=auth(admin))
    assert org.status_code == 201, org.text
    key = client.post(f"/v1/admin/orgs/{org.json()['id']}/keys", json={}, headers=auth(admin))
    assert key.status_code == 201, key.text
    return str(org.json()["id"]), str(key.json()["key"])
