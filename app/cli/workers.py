"""`idcheck serve --workers N` on Linux: N uvicorn servers, each accepting on a listening socket
of its own, all in one SO_REUSEPORT group, so that the kernel spreads connections over the
workers (by a hash of each connection's addresses).

uvicorn's own multi-worker mode shares one listening socket: the worker that wakes first takes
every pending connection (asyncio accepts up to the backlog at a time), and keep-alive clients
stay where they landed. Measured here: 16 connections opened together (a load balancer's pool,
wrk, the benchmark's client) all went to one of two workers in 5 starts out of 6 (`ss -tnp`),
leaving the other idle.

A worker that ends takes the others with it and the command exits (non-zero unless it was asked
to stop): a process manager (systemd, Kubernetes) restarts the service whole."""

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn

logger = logging.getLogger("uvicorn.error")


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def _reserved(host: str, port: int) -> Iterator[int]:
    """The port, held by a bound socket that never listens (so it is given no connection): port
    0 becomes one port for every worker, and no other user's program can join the group."""
    with _socket(host, port) as holder:
        yield int(holder.getsockname()[1])


def _worker(options: dict[str, Any]) -> None:
    """One uvicorn server on a listening socket of its own (in a process of its own)."""
    config = uvicorn.Config(**options)
    uvicorn.Server(config).run(sockets=[_socket(options["host"], options["port"])])


def serve_workers(count: int, options: dict[str, Any]) -> int:
    """Run ``count`` workers until one ends or a signal asks them to stop; the exit status."""
    uvicorn.Config(**options)  # logging configured as in the workers, and the options checked
    context = multiprocessing.get_context("spawn")
    stopping = False
    with _reserved(options["host"], options["port"]) as port:
        options = {**options, "port": port}
        workers = [
            context.Process(target=_worker, args=(options,), name=f"idcheck-worker-{n}")
            for n in range(count)
        ]

        def stop(signum: int | None = None, frame: FrameType | None = None) -> None:
            nonlocal stopping
            stopping = stopping or signum is not None
            for worker in workers:
                if worker.pid is not None and worker.exitcode is None:
                    os.kill(worker.pid, signal.SIGTERM)

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        for worker in workers:
            worker.start()
        scheme = "https" if options.get("ssl_certfile") else "http"
        logger.info("idcheck on %s://%s:%d, %d workers", scheme, options["host"], port, count)
        if stopping:  # a signal came while they started
            stop()
        multiprocessing.connection.wait([worker.sentinel for worker in workers])
        for worker in workers:
            if worker.exitcode is not None and not stopping:
                code = worker.exitcode
                logger.error("worker %d ended (exit code %d): stopping", worker.pid, code)
        stop()  # one ended: the others follow
        for worker in workers:
            worker.join()
    failed = any(worker.exitcode != 0 for worker in workers)
    return 1 if failed and not stopping else 0
