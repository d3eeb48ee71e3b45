"""Requests/s and latency percentiles from wrk (Debian's package), a load generator in C.

The single-record figures are ratios to /healthz from the same generator, so the generator must
not be the bottleneck: a Python one reached 300-470 /healthz requests/s here, wrk with one thread
over 10,000. `make bench` installs wrk when it is missing.
"""

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("single.lua")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    return found


def run_wrk(
    base: str,
    path: str,
    *,
    connections: int,
    seconds: int,
    bodies: Sequence[Any] = (),
    keys: Sequence[str] = (),
    workdir: Path,
) -> dict[str, float]:
    """GET ``path`` (no bodies), or POST each body to it in turn with the keys in turn, from
    ``connections`` connections over one wrk thread for ``seconds``; any answer but 2xx fails."""
    args = [wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    env = dict(os.environ)
    if bodies:
        (workdir / "wrk-bodies.txt").write_text("".join(json.dumps(b) + "\n" for b in bodies))
        (workdir / "wrk-keys.txt").write_text("".join(key + "\n" for key in keys))
        env |= {
            "IDCHECK_BENCH_BODIES": str(workdir / "wrk-bodies.txt"),
            "IDCHECK_BENCH_KEYS": str(workdir / "wrk-keys.txt"),
            "IDCHECK_BENCH_PATH": path,
        }
        args += ["-s", str(SCRIPT)]
    done = subprocess.run([*args, base + path], env=env, capture_output=True, text=True, check=True)
    return parse(done.stdout)


def parse(output: str) -> dict[str, float]:
    """Requests/s, p50 and p99 (ms) of wrk's report; errors of any kind fail the benchmark."""
    for problem in ("Non-2xx or 3xx responses", "Socket errors"):
        if problem in output:
            raise SystemExit(f"wrk saw errors:\n{output}")
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p50 = re.search(r"^\s+50%\s+([0-9.]+)(us|ms|s)$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)$", output, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        raise SystemExit(f"cannot read wrk's report:\n{output}")
    return {
        "requests_per_second": float(rate[1]),
        "p50_ms": float(p50[1]) * _UNITS[p50[2]],
        "p99_ms": float(p99[1]) * _UNITS[p99[2]],
    }
