"""A real TCP proxy for end-to-end tests: it sees every request, and misbehaves on cue."""

import json
import socket
import threading
from dataclasses import dataclass
from dataclasses import field


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    body: bytes


@dataclass
class FaultyProxy:
    """A TCP proxy in front of the server, one connection per request, that follows a plan.

    For each request, the next step of ``plan`` (then "pass" once it is empty):
    - "pass": forward the request, return the answer;
    - "unavailable": answer 503 with Retry-After itself, as a load balancer does when the
      server behind it is away (the server never sees the request);
    - "drop": forward the request, let the server do the work, then close the connection
      without a byte of the answer: a response lost on the way back.
    """

    upstream: tuple[str, int]
    plan: list[str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    retry_after: int = 1

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            request = _read_request(connection)
            if request is None:
                return
            head, body = request
            lines = head.split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
            }
            self.seen.append(Seen(method, path, headers.get("idempotency-key"), body))
            step = self.plan.pop(0) if self.plan else "pass"
            if step == "unavailable":
                error = {
                    "error": {
                        "code": "store_unavailable",
                        "message": "upstream away",
                        "details": [],
                    }
                }
                payload = json.dumps(error).encode()
                connection.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    + f"Retry-After: {self.retry_after}\r\n".encode()
                    + f"Content-Length: {len(payload)}\r\n".encode()
                    + b"Connection: close\r\n\r\n"
                    + payload
                )
                return
            kept = [line for line in lines[1:] if not line.lower().startswith("connection:")]
            forwarded = "\r\n".join([lines[0], *kept, "Connection: close"]).encode() + b"\r\n\r\n"
            with socket.create_connection(self.upstream) as upstream:
                upstream.sendall(forwarded + body)
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
            if step == "pass":
                connection.sendall(answer)


def _read_request(connection: socket.socket) -> tuple[str, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    length = 0
    for line in text.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return text, body
