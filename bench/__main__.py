"""idcheck beside the machine's raw limits, in one run, as JSON and a table.

python -m bench --scale small [--workers 2]   # the service on PostgreSQL (bench/service.py)
python -m bench --scale large --keep-database # ... and keep the loaded database
python -m bench --scale large --phases verify # the verify phases alone, on the kept database
python -m bench --scale large --no-close-forms # holders' files without close forms of names
python -m bench --replicas 1                  # on a primary and a streaming replica of its own
python -m bench sign [--rows N]               # idcheck sign alone (bench/sign.py)
python -m bench blind [--rows N] [--no-close-forms] # blind mode (bench/blind.py)
python -m bench floor                         # a verify's SQL alone, pgbench (bench/floor.py)
python -m bench soak [--seconds 120]          # hostile clients beside good ones (bench/soak.py)
python -m bench names [--write-corpus]        # names as people write them (bench/names.py)
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import names
from bench import soak
from bench.blind import bench_blind
from bench.cluster import streaming_cluster
from bench.floor import bench_floor
from bench.service import run
from bench.service import run_verify
from bench.sign import bench_sign

OUT = Path(__file__).resolve().parent / "out"


def _table(title: str, report: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                add(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, bool):
            table.add_row(prefix, "yes" if value else "no")
        elif isinstance(value, float):
            table.add_row(prefix, f"{value:,.2f}")
        else:
            table.add_row(prefix, f"{value:,}" if isinstance(value, int) else str(value))

    add("", report)
    return table


def main() -> None:
    if sys.argv[1:2] == ["soak"]:
        soak.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["names"]:
        names.main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", choices=["small", "large"], default="small")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "IDCHECK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where the benchmark may create and drop its own database",
    )
    parser.add_argument("--workdir", type=Path, default=OUT)
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep the loaded database (its URL and key in WORKDIR/SCALE-database.json)",
    )
    parser.add_argument(
        "--phases",
        choices=["all", "verify"],
        default="all",
        help="verify: only the verify phases, on the database a --keep-database run kept",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="start a PostgreSQL primary and this many streaming replicas of its own (in a\n"
        "temporary folder) and run on them, the service's lookups on the replicas",
    )
    parser.add_argument(
        "--no-close-forms",
        dest="close_forms",
        action="store_false",
        help="the holders' files without the close forms of names (5.9 values a record, not 42)",
    )
    commands = parser.add_subparsers(dest="command")
    sign = commands.add_parser("sign", help="idcheck sign on a generated French customer file")
    sign.add_argument("--rows", type=int, default=1_000_000)
    blind = commands.add_parser("blind", help="blind mode: evaluation rate, push beside HMAC")
    blind.add_argument("--rows", type=int, default=1_000_000)
    blind.add_argument(
        "--no-close-forms",
        dest="close_forms",
        action="store_false",
        help="push both files without the close forms of names (the kinds' own signatures)",
    )
    commands.add_parser("floor", help="pgbench: a verify's statements alone, beside /healthz")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.command == "sign":
        report = bench_sign(args.rows, args.workdir)
        title = f"idcheck sign, {args.rows:,} rows"
        (args.workdir / "sign.json").write_text(json.dumps(report, indent=2) + "\n")
    elif args.command == "blind":
        report = bench_blind(args.rows, args.postgres_url, args.workdir, args.close_forms)
        forms = "" if args.close_forms else ", without close forms"
        title = f"blind mode, push of {args.rows:,} rows{forms}"
        (args.workdir / "blind.json").write_text(json.dumps(report, indent=2) + "\n")
    elif args.command == "floor":
        report = bench_floor(args.postgres_url, args.workdir)
        title = "a verify's statements on PostgreSQL alone, beside /healthz"
        (args.workdir / "floor.json").write_text(json.dumps(report, indent=2) + "\n")
    elif args.phases == "verify":
        out = args.workdir / f"{args.scale}-verify.json"
        report = run_verify(args.scale, args.workers, args.workdir, out)
        title = f"verify against raw limits, scale {args.scale}, kept database"
    elif args.replicas:
        if args.keep_database:
            parser.error("--replicas runs on a cluster of its own, removed after the run")
        out = args.workdir / f"{args.scale}-replicas{args.replicas}.json"
        with streaming_cluster(args.replicas) as cluster:
            report = run(
                args.scale,
                args.workers,
                cluster.primary.dsn("postgres"),
                args.workdir,
                out,
                replicas=cluster.replicas,
            )
        title = f"idcheck against raw limits, scale {args.scale}, {args.replicas} replica(s)"
    else:  # run() writes its report itself, after each phase
        out = args.workdir / f"{args.scale}.json"
        report = run(
            args.scale,
            args.workers,
            args.postgres_url,
            args.workdir,
            out,
            keep_db=args.keep_database,
            close_forms=args.close_forms,
        )
        title = f"idcheck against raw limits, scale {args.scale}"
    print(json.dumps(report, indent=2))
    Console().print(_table(title, report))


if __name__ == "__main__":
    main()
