"""No client can take the service down: stalled, slow, oversized and vanishing clients against a
real server over raw sockets, on SQLite (one worker) and PostgreSQL (two workers).

One server per backend for the module, with short read deadlines so that the tests see them act.
"""

import concurrent.futures
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server

HEADER_TIMEOUT = 2.0
BODY_IDLE_TIMEOUT = 3.0
STALLED = 30
RECORD = {"external_id": "c-1", "updated_at": "2026-01-01", "key_version": 1,
          "signatures": {"email": "0" * 32}}  # fmt: skip


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workers = 2 if module_database.backend == "postgresql" else 1
    yield from start_server(
        module_database,
        tmp_path_factory.mktemp("hostile"),
        workers=workers,
        extra_env={
            "IDCHECK_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
            "IDCHECK_BODY_IDLE_TIMEOUT": str(BODY_IDLE_TIMEOUT),
            "IDCHECK_RATE_LIMIT_BURST": "1000",
            "IDCHECK_DB_POOL_SIZE": "5",
        },
    )


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    with server.client() as client:
        return {
            "holder": remote_org(client, server.admin_key, "holder", "stalling holder")[1],
            "buyer": remote_org(client, server.admin_key, "buyer", "stalling buyer")[1],
            "other": remote_org(client, server.admin_key, "buyer", "another tenant")[1],
        }


def _dataset(server: Server, holder: str) -> str:
    with server.client() as client:
        name = f"d-{time.monotonic_ns()}"
        answer = client.post(
            "/v1/datasets", json={"name": name, "legal_basis": "contract"}, headers=auth(holder)
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


def _connect(server: Server) -> socket.socket:
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname or "", address.port or 80), timeout=30)
    return sock


def _head(method: str, path: str, key: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: idcheck.test", f"Authorization: Bearer {key}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket, timeout: float) -> tuple[int | None, bytes]:
    """The status the server sends (None if it only closes), read within ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    return int(data.split(b" ", 2)[1]), data


def _closed(sock: socket.socket, timeout: float) -> bool:
    """True when the server closes the connection within ``timeout`` (after any answer)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def _stall(server: Server, keys: dict[str, str], dataset: str, number: int) -> socket.socket:
    """A request that sends its headers and the start of its body, then nothing."""
    sock = _connect(server)
    key = f"stall-{time.monotonic_ns()}-{number}"
    if number % 2:
        body = json.dumps(RECORD).encode() + b"\n"
        head = _head(
            "POST",
            f"/v1/datasets/{dataset}/records",
            keys["holder"],
            {"Content-Type": "application/x-ndjson", "Content-Length": "100000",
             "Idempotency-Key": key},
        )  # fmt: skip
    else:
        body = b'{"purpose": "kyc", "records": [{"email": "a@example.fr"}'
        head = _head(
            "POST",
            "/v1/verify",
            keys["buyer"],
            {"Content-Type": "application/json", "Content-Length": "5000", "Idempotency-Key": key},
        )
    sock.sendall(head + body)
    return sock


def _probe(server: Server, key: str) -> float:
    started = time.perf_counter()
    with server.client() as client:
        answer = client.post(
            "/v1/verify",
            json={"purpose": "probe", "records": [{"email": "anne@example.fr"}]},
            headers=auth(key),
            timeout=10,
        )
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def test_stalled_clients_hold_nothing_and_are_cut_off(server: Server, keys: dict[str, str]) -> None:
    dataset = _dataset(server, keys["holder"])
    stalled = [_stall(server, keys, dataset, number) for number in range(STALLED)]
    opened = time.monotonic()
    try:
        time.sleep(0.5)  # every stalled request has been taken in and is waiting for its body
        probes = sorted(_probe(server, keys["other"]) for _ in range(20))
        assert probes[-1] < 1.0, probes  # p99 of 20 probes is the slowest
        with server.client() as client:
            assert client.get("/readyz").status_code == 200
            # A dataset's deletion does not wait for an upload that is still arriving.
            started = time.perf_counter()
            gone = client.delete(f"/v1/datasets/{dataset}", headers=auth(keys["holder"]))
            assert gone.status_code == 204, gone.text
            assert time.perf_counter() - started < 2.0
        # Each stalled request is answered 408 and closed once the body deadline has passed.
        for sock in stalled:
            remaining = BODY_IDLE_TIMEOUT + 5 - (time.monotonic() - opened)
            status, _ = _answer(sock, max(remaining, 0.1))
            assert status == 408
            assert _closed(sock, 2.0)
        assert time.monotonic() - opened < BODY_IDLE_TIMEOUT + 5
    finally:
        for sock in stalled:
            sock.close()


def test_slow_headers_are_cut_off(server: Server) -> None:
    sock = _connect(server)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: idcheck.test\r\nX-Slow: ")
        started = time.monotonic()
        status, _ = _answer(sock, HEADER_TIMEOUT + 5)
        assert status == 408
        assert _closed(sock, 2.0)
        assert time.monotonic() - started < HEADER_TIMEOUT + 3
        # A connection that says nothing at all is closed as well.
        silent = _connect(server)
        assert _closed(silent, HEADER_TIMEOUT + 5)
        silent.close()
    finally:
        sock.close()


def test_a_body_that_drips_is_cut_off(server: Server, keys: dict[str, str]) -> None:
    """A byte a second never goes idle, but it is far under the minimum rate."""
    sock = _connect(server)
    try:
        head = _head(
            "POST", "/v1/verify", keys["buyer"],
            {"Content-Type": "application/json", "Content-Length": "4000"},
        )  # fmt: skip
        sock.sendall(head)
        started = time.monotonic()
        sock.settimeout(0.1)
        status = None
        while time.monotonic() - started < BODY_IDLE_TIMEOUT + 6:
            try:
                sock.sendall(b" ")
            except OSError:
                break
            status, _ = _answer(sock, 1.0)
            if status is not None:
                break
        assert status == 408
        assert time.monotonic() - started < BODY_IDLE_TIMEOUT + 4
    finally:
        sock.close()


def _peaks(pid: int) -> dict[int, int]:
    """Peak resident memory (VmHWM, bytes) of the server and of each of its worker processes."""
    peaks, pending = {}, [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        peaks[current] = next(
            int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:")
        )
        children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        pending.extend(int(child) for child in children)
    return peaks


def _send_large(server: Server, key: str, *, chunked: bool) -> tuple[int | None, float]:
    """32 MB of `{}` records to /v1/verify; the status and how long the server took to answer."""
    size = 32 * 2**20
    item = b"{},"
    body = b'{"purpose": "p", "records": [' + item * ((size - 40) // len(item)) + b"{}]}"
    headers = {"Content-Type": "application/json"}
    headers["Transfer-Encoding" if chunked else "Content-Length"] = (
        "chunked" if chunked else str(len(body))
    )
    sock = _connect(server)
    try:
        sock.sendall(_head("POST", "/v1/verify", key, headers))
        started = time.perf_counter()
        sock.settimeout(0)
        status = None
        for offset in range(0, len(body), 65536):
            piece = body[offset : offset + 65536]
            frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
            try:
                sock.settimeout(5)
                sock.sendall(frame)
            except OSError:
                break
            sock.settimeout(0)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except BlockingIOError:
                continue
        status, _ = _answer(sock, 5.0)
        return status, time.perf_counter() - started
    finally:
        sock.close()


def test_oversized_bodies_are_refused_before_they_are_built(
    server: Server, keys: dict[str, str]
) -> None:
    before = _peaks(server.pid)
    status, elapsed = _send_large(server, keys["buyer"], chunked=False)
    assert status == 413
    assert elapsed < 0.5
    status, elapsed = _send_large(server, keys["buyer"], chunked=True)
    assert status == 413
    assert elapsed < 0.5
    status, elapsed = _send_large(server, "idc_buyer_" + "0" * 40, chunked=False)
    assert status == 401
    assert elapsed < 0.1
    after = _peaks(server.pid)
    assert max(after[pid] - before.get(pid, 0) for pid in after) < 50 * 2**20


def test_a_client_that_hangs_up_is_not_a_server_error(server: Server, keys: dict[str, str]) -> None:
    sock = _connect(server)
    head = _head(
        "POST", "/v1/verify", keys["buyer"],
        {"Content-Type": "application/json", "Content-Length": "5000"},
    )  # fmt: skip
    sock.sendall(head + b'{"purpose": "p", "records": [')
    time.sleep(0.3)
    sock.close()
    time.sleep(0.5)
    log = server.log.read_text()
    assert "client disconnected before its answer" in log
    assert "ClientDisconnect" not in log
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert 'route="/v1/verify",status="500"' not in metrics
    assert 'route="/v1/verify",status="499"' in metrics


def _open_snapshot(server: Server, key: str, dataset: str, ready: threading.Barrier) -> int:
    with server.client() as client:
        client.get("/healthz")  # connected before the barrier
        ready.wait()
        return client.post(f"/v1/datasets/{dataset}/snapshots", headers=auth(key)).status_code


def test_ten_concurrent_snapshot_opens_give_one(server: Server, keys: dict[str, str]) -> None:
    """Ten at once, on five datasets in turn (a check-then-insert race shows in some rounds)."""
    for _ in range(5):
        dataset = _dataset(server, keys["holder"])
        ready = threading.Barrier(10)
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            opened = [
                pool.submit(_open_snapshot, server, keys["holder"], dataset, ready)
                for _ in range(10)
            ]
            statuses = sorted(future.result() for future in opened)
        assert statuses == [201] + [409] * 9


def test_overlapping_uploads_of_the_same_records_all_apply(
    server: Server, keys: dict[str, str]
) -> None:
    """docs/api.md: uploads to one dataset are written one after the other; each is a 200."""
    dataset = _dataset(server, keys["holder"])
    lines = [
        json.dumps({**RECORD, "external_id": f"c-{i}", "signatures": {"email": f"{i:032x}"}})
        for i in range(2000)
    ]
    body = ("\n".join(lines) + "\n").encode()

    def upload(_: int) -> int:
        with server.client() as client:
            return client.post(
                f"/v1/datasets/{dataset}/records",
                content=body,
                headers=auth(keys["holder"], **{"Content-Type": "application/x-ndjson"}),
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(upload, range(4))) == [200] * 4
    with server.client() as client:
        shown = client.get(f"/v1/datasets/{dataset}", headers=auth(keys["holder"])).json()
    assert (shown["records"], shown["signatures"]) == (2000, 2000)


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/metrics", "/docs", "/nowhere", "/v1/verify"],
)
def test_a_key_in_any_url_is_refused_however_encoded(
    server: Server, keys: dict[str, str], path: str
) -> None:
    key = keys["buyer"]
    encoded = key.replace("_", "%5F")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for query in (f"api_key={key}", f"api_key={encoded}", f"k={key.upper()}"):
            answer = client.get(f"{path}?{query}")
            assert answer.status_code == 400, (path, query)
            assert answer.json()["error"]["code"] == "api_key_in_query"
            assert key not in answer.text


def test_the_schema_lists_every_method_a_405_allows(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        answer = client.put("/v1/datasets/00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "DELETE, GET"
