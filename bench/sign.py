"""Benchmark of `idcheck sign` beside the raw limits of the same machine, in one run.

Raw limits, measured on the same generated file: reading it with Python's csv module alone (the
floor of any CSV tool in Python), and HMAC-SHA256 of as many messages as the file has signatures
(the floor of the cryptography). `idcheck sign` runs as a user runs it, in a subprocess, whose
peak resident memory is read from the kernel (wait4). Then, untimed, the same file is signed again
with the normalisation fast paths off (every value through the libraries): the two outputs'
SHA-256 digests must be equal, or the benchmark fails.
"""

import csv
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from rich.console import Console

from app.cli.people import people
from app.cli.people import write_csv
from idcheck.cli.sign import Layout
from idcheck.cli.sign import open_signing
from idcheck.cli.signing import CHUNK_ROWS
from idcheck.cli.signing import Chunk
from idcheck.cli.signing import HmacSigner
from idcheck.cli.signing import SignJob
from idcheck.cli.signing import sign_chunk
from signatures.dates import today
from signatures.fastpath import library_only

KEY_HEX = "00" * 32


def _idcheck() -> str:
    return str(Path(sys.executable).with_name("idcheck"))


def raw_csv_rows_per_second(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle, delimiter=";")) - 1
    return rows / (time.perf_counter() - started)


def raw_hmac_per_second(count: int) -> float:
    key = bytes(32)
    message = b"idcheck:v1:name_address\x1fdupont\x1fjean\x1f12bisavenuevictorhugo\x1f75016\x1fFR"
    started = time.perf_counter()
    for _ in range(count):
        hmac.digest(key, message, hashlib.sha256)
    return count / (time.perf_counter() - started)


def _tree_pss_kb(pid: int) -> int:
    """Proportional resident memory (PSS) of a process and its descendants, from /proc (Linux).

    PSS shares each shared page among the processes that map it, so the sum is what the tree
    really costs the machine; a sum of RSS would count the shared libraries once per worker.
    """
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


class TreeMemory(threading.Thread):
    """Samples a process tree's total memory (PSS) every 100 ms; keeps the peak. (Reading
    smaps_rollup makes the kernel walk each process's page tables: every 20 ms, as before,
    that took a tenth of a core from the two that the measured command runs on.)"""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb = pid, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(self.pid))


def run_sign(source: Path, workdir: Path) -> dict[str, Any]:
    key_file = workdir / "bench.key"
    key_file.write_text(KEY_HEX)
    output = workdir / "signed.ndjson"
    args = [_idcheck(), "sign", str(source), "--key-file", str(key_file), "-o", str(output)]
    started = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        sampler = TreeMemory(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"idcheck sign failed ({process.returncode}):\n{stderr}")
    signatures = 0
    with output.open(encoding="utf-8") as handle:
        for line in handle:  # the kinds' signatures and the close forms of the names
            record = json.loads(line)
            signatures += len(record["signatures"])
            signatures += sum(map(len, record.get("close", {}).values()))
    return {
        "seconds": seconds,
        # All processes together (PSS, sampled), and the largest one (the kernel's exact peak).
        "peak_pss_mb_all_processes": sampler.peak_kb / 1024,
        "peak_rss_mb_largest_process": usage.ru_maxrss / 1024,
        "signatures": signatures,
        "output_mb": output.stat().st_size / 2**20,
    }


def _sign_by_library(job: SignJob, rows: Sequence[tuple[int, list[str]]]) -> Chunk:
    with library_only():
        return sign_chunk(job, rows)


def library_digest(source: Path) -> str:
    """SHA-256 of what `idcheck sign` writes for ``source``, every value normalised by the
    libraries alone (no fast path), in a pool of processes."""
    signer = HmacSigner(bytes.fromhex(KEY_HEX), 1)
    opened = open_signing(source, signer, layout=Layout(), console=Console(quiet=True))
    digest = hashlib.sha256()
    try:
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            rows = opened.source.rows()
            chunks = iter(lambda: tuple(islice(rows, CHUNK_ROWS * 10)), ())
            for chunk in pool.map(partial(_sign_by_library, opened.job), chunks):
                digest.update("".join(line + "\n" for _, line in chunk.signed).encode("utf-8"))
    finally:
        opened.source.close()
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def bench_sign(rows: int, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"customers-{rows}.csv"
    started = time.perf_counter()
    write_csv(source, people(rows, seed=42))
    generated = time.perf_counter() - started
    day = today()
    sign = run_sign(source, workdir)
    identical = file_digest(workdir / "signed.ndjson") == library_digest(source)
    if today() != day:
        raise SystemExit("the day changed during the run (rows are dated today): run it again")
    if not identical:
        raise SystemExit("idcheck sign's output differs from the libraries' (fast paths off)")
    csv_rate = raw_csv_rows_per_second(source)
    per_row = sign["signatures"] / rows
    hmac_rate = raw_hmac_per_second(min(sign["signatures"], 2_000_000))
    sign_rate = rows / sign["seconds"]
    return {
        "rows": rows,
        "input_mb": source.stat().st_size / 2**20,
        "generate_seconds": generated,
        "idcheck_sign": {**sign, "rows_per_second": sign_rate},
        "output_identical_with_fast_paths_off": identical,
        "raw": {
            "csv_reader_rows_per_second": csv_rate,
            "hmac_sha256_per_second": hmac_rate,
            "hmac_only_rows_per_second": hmac_rate / per_row,
        },
        "ratios": {
            "sign_vs_csv_reader": sign_rate / csv_rate,
            "sign_vs_hmac_only": sign_rate / (hmac_rate / per_row),
        },
        "cpu_count": os.cpu_count(),
    }
