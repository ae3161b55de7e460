"""CSV import of purchases (issue 4): ``manage.py import_events FILE.csv``, timed.

On a loaded program (members with accounts and a ledger, tiers, the purchase rule, one
live double-points campaign with a budget and a member cap), each repeat writes a CSV of
``--rows`` purchases with fresh order ids for random members (amounts 5.00–199.99 EUR,
times over the last 24 hours) and runs the command in this process; the time is the
whole command (reading, validating, planning and writing). ``verify_ledger`` runs after
each import. Target: ≥ 5,000 events/s (median of the repeats).

    PYTHONPATH=. .venv/bin/python -m bench.events_import --create-db > var/bench-import.jsonl
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.machine import Measure
from bench.options import add_database_options
from bench.web_run import (
    VAR,
    bench_env,
    database_drop,
    django_setup,
    emit,
    environment,
    log,
    redis_flush,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vafa_bench_import"
TARGET_ROWS_PER_S = 5000.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.events_import", description=__doc__)
    add = parser.add_argument
    add("--members", type=int, default=100_000, help="members, each with an account")
    add("--lots", type=int, default=1_000_000, help="past credits loaded (one entry each)")
    add("--rows", type=int, default=100_000, help="purchases per CSV file")
    add("--chunk-size", type=int, default=2000, help="import_events --chunk-size")
    add("--repeat", type=int, default=3)
    add("--redis-db", type=int, default=11)
    add_database_options(parser, reuse=False)
    return parser.parse_args(argv)


def csv_write(path: Path, *, rows: int, members: int, tag: str, now: datetime) -> None:
    rng = random.Random(tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["order_id", "member_id", "amount", "currency", "occurred_at"])
        for i in range(rows):
            when = now - timedelta(seconds=rng.randint(60, 86_400))
            amount = f"{rng.randint(5, 199)}.{rng.randint(0, 99):02d}"
            writer.writerow([f"imp-{tag}-{i}", rng.randint(1, members), amount, "EUR", when])


def import_run(*, path: Path, rows: int, chunk_size: int) -> dict[str, Any]:
    from django.core.management import call_command

    out = io.StringIO()
    start = time.perf_counter()
    call_command("import_events", str(path), chunk_size=chunk_size, stdout=out)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "report": out.getvalue(),
    }


def prepare(records: list[dict[str, Any]], args: argparse.Namespace) -> None:
    from django.utils import timezone

    from bench import ledger_db, web_db

    if args.create_db:
        ledger_db.database_recreate()
    ledger_db.database_migrate()
    now = timezone.now().replace(microsecond=0)
    log(f"load {args.members:,} members, {args.lots:,} lots")
    start = time.perf_counter()
    rows = web_db.web_load(members=args.members, lots=args.lots, now=now)
    web_db.program_create(now=now)
    emit(records, "load", seconds=time.perf_counter() - start, rows=rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_env(database_url=database_url, redis_db=args.redis_db, port=0)
    django_setup(env)
    from django.utils import timezone

    from bench.ledger_db import database_settle
    from bench.ledger_runs import ledger_verify

    records: list[dict[str, Any]] = []
    prepare(records, args)
    emit(records, "environment", **environment(database_url.rsplit("/", 1)[-1], vars(args)))
    measure = Measure(args.quiet_wait)
    for r in range(1, args.repeat + 1):
        path = VAR / f"import-{r}.csv"
        tag = f"{int(time.time())}-{r}"
        csv_write(path, rows=args.rows, members=args.members, tag=tag, now=timezone.now())
        database_settle()
        log(f"import #{r}: {args.rows:,} rows")
        result = measure(import_run, path=path, rows=args.rows, chunk_size=args.chunk_size)
        emit(records, "import", repeat=r, **result)
        log(f"  {result['rows_per_s']:,.0f} rows/s; verify_ledger")
        emit(records, "verify", repeat=r, **ledger_verify())
        path.unlink()
    rates = [r["rows_per_s"] for r in records if r["bench"] == "import"]
    consistent = all(r["consistent"] for r in records if r["bench"] == "verify")
    emit(
        records,
        "summary",
        rows_per_s=statistics.median(rates),
        rows_per_s_all=rates,
        target_rows_per_s=TARGET_ROWS_PER_S,
        met=statistics.median(rates) >= TARGET_ROWS_PER_S,
        consistent=consistent,
    )
    redis_flush(args.redis_db)
    if not args.keep_db:
        database_drop()
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
