"""python -m bench sign [--rows N]: idcheck beside the machine's raw limits, as JSON and a table."""

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.sign import bench_sign

OUT = Path(__file__).resolve().parent / "out"


def _table(title: str, report: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                add(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, float):
            table.add_row(prefix, f"{value:,.2f}")
        else:
            table.add_row(prefix, f"{value:,}" if isinstance(value, int) else str(value))

    add("", report)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sign = commands.add_parser("sign", help="idcheck sign on a generated French customer file")
    sign.add_argument("--rows", type=int, default=1_000_000)
    sign.add_argument("--workdir", type=Path, default=OUT)
    args = parser.parse_args()
    report = bench_sign(args.rows, args.workdir)
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "sign.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    Console().print(_table(f"idcheck sign, {args.rows:,} rows", report))


if __name__ == "__main__":
    main()
