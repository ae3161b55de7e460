"""Ledger benchmarks on PostgreSQL, side by side in one run (see bench/README.md):

1. ``points_expire`` over N lots (a fraction due) vs a per-lot ORM loop on a sample;
2. ``points_credit`` in a loop vs the same credits posted with django-hordak (and vs
   the same five SQL statements from a plain cursor, the database's share);
3. ``manage.py verify_ledger`` over the loaded ledger (one entry per lot).

Each timed measurement is repeated ``--repeat`` times (expiry on a freshly loaded ledger
each time); results are JSON lines on stdout, the last one the summary with medians and
ratios against the targets. Progress goes to stderr.

    DEBUG=1 PYTHONPATH=. .venv/bin/python -m bench.ledger --create-db > var/bench-ledger.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.machine import Measure

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vafa_bench"
TARGETS = {
    "expire_seconds_max": 30.0,
    "expire_speedup_min": 50.0,
    "credits_per_s_min": 1000.0,
    "verify_seconds_max": 20.0,
}
Records = list[dict[str, Any]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    add = parser.add_argument
    add("--accounts", type=int, default=100_000, help="member accounts loaded")
    add("--lots", type=int, default=1_000_000, help="lots loaded (one earn entry each)")
    add("--due-fraction", type=float, default=0.5, help="share of lots due at as_of")
    add("--naive-lots", type=int, default=100_000, help="due lots the ORM loop expires")
    add("--batch-size", type=int, default=None, help="points_expire batch (default: its own)")
    add("--credits", type=int, default=20_000, help="credits per repeat, each system")
    add("--credit-accounts", type=int, default=2_000, help="accounts the credits go to")
    add("--repeat", type=int, default=3, help="repetitions of every timed measurement")
    add("--create-db", action="store_true", help="DROP and CREATE the bench database first")
    add("--quiet-wait", type=float, default=60, help="max seconds to wait for idle CPUs")
    add("--skip-naive", action="store_true", help="leave out the per-lot ORM loop")
    args = parser.parse_args(argv)
    if not 0 <= args.due_fraction < 1:
        parser.error("--due-fraction must be at least 0 and below 1")
    return args


def emit(records: Records, bench: str, **fields: Any) -> dict[str, Any]:
    """Print one JSON line and keep it for the summary."""
    record = {"bench": bench, **fields}
    print(json.dumps(record, default=str), flush=True)
    records.append(record)
    return record


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_hordak")
    os.environ.setdefault("DEBUG", "1")  # config.settings needs it for its dev secret key
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    import django

    django.setup()


def environment(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    from bench.ledger_db import database_name, server_facts

    lines = Path("/proc/meminfo").read_text().splitlines()
    meminfo = dict(line.split(":", 1) for line in lines)
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "nproc": os.cpu_count(),
        "mem_total": meminfo["MemTotal"].strip(),
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "django": version("django"),
        "psycopg": version("psycopg"),
        "hordak": version("django-hordak"),
        "database": database_name(),
        "postgres": server_facts(),
        "args": vars(args),
    }


def loaded(records: Records, scale: Any, repeat: int, purpose: str) -> None:
    from django.utils import timezone

    from bench.ledger_db import ledger_load

    log(f"load {scale.lots:,} lots / {scale.accounts:,} accounts ({purpose} #{repeat})")
    start = time.perf_counter()
    rows = ledger_load(scale, now=timezone.now())
    seconds = time.perf_counter() - start
    total = sum(rows.values())
    emit(
        records,
        "load",
        repeat=repeat,
        purpose=purpose,
        seconds=seconds,
        rows=rows,
        rows_per_s=total / seconds,
    )


def bench_expiry(records: Records, args: argparse.Namespace, scale: Any) -> None:
    """Per repeat: fresh ledger, verify it (1 entry per lot), expire, verify again."""
    from bench import ledger_db, ledger_runs
    from loyalty.services.expiry import BATCH_ACCOUNTS

    batch_size = args.batch_size or BATCH_ACCOUNTS
    measure = Measure(args.quiet_wait)
    for r in range(1, args.repeat + 1):
        loaded(records, scale, r, "expire")
        log("verify_ledger before expiry")
        emit(records, "verify", repeat=r, stage="loaded", **measure(ledger_runs.ledger_verify))
        due_lots, due_points = ledger_db.due_totals(scale.as_of)
        log(f"points_expire: {due_lots:,} lots due")
        result = measure(ledger_runs.expire_set_based, as_of=scale.as_of, batch_size=batch_size)
        assert (result["lots"], result["points"]) == (due_lots, due_points), result
        emit(records, "expire_set_based", repeat=r, batch_size=batch_size, **result)
        log(f"  {result['seconds']:.1f} s; verify_ledger after expiry")
        emit(records, "verify", repeat=r, stage="expired", **measure(ledger_runs.ledger_verify))


def bench_naive(records: Records, args: argparse.Namespace, scale: Any) -> None:
    """Per repeat: fresh ledger, the per-lot ORM loop over a sample of due lots, verify."""
    from bench import ledger_runs

    measure = Measure(args.quiet_wait)
    for r in range(1, args.repeat + 1):
        loaded(records, scale, r, "naive")
        log(f"per-lot ORM loop over {args.naive_lots:,} due lots")
        result = measure(ledger_runs.expire_naive, as_of=scale.as_of, limit=args.naive_lots)
        emit(records, "expire_naive", repeat=r, **result)
        log(f"  {result['seconds']:.1f} s; verify_ledger after the loop")
        emit(records, "verify", repeat=r, stage="naive", **measure(ledger_runs.ledger_verify))


def bench_credits(records: Records, args: argparse.Namespace) -> None:
    """On the last loaded ledger: Vafa, the raw-SQL floor and hordak in turn per repeat,
    after an untimed warm-up of each; hordak first gets as many past credits as Vafa has."""
    from bench import ledger_hordak, ledger_runs
    from loyalty.models import Account, Lot

    accounts = list(Account.objects.order_by("id")[: args.credit_accounts])
    issued, chart = ledger_hordak.hordak_chart(members=len(accounts))
    history = Lot.objects.count()
    log(f"hordak: {len(chart):,} member accounts, {history:,} past credits")
    ledger_hordak.hordak_history(issued=issued, accounts=chart, count=history)
    runs: dict[str, Callable[..., dict[str, Any]]] = {
        "credits_vafa": partial(ledger_runs.credits_vafa, accounts=accounts),
        "credits_raw_sql": partial(ledger_runs.credits_raw_sql, accounts=accounts),
        "credits_hordak": partial(ledger_hordak.credits_hordak, issued=issued, accounts=chart),
    }
    for run in runs.values():
        run(count=200, tag="warm")
    measure = Measure(args.quiet_wait)
    for r in range(1, args.repeat + 1):
        log(f"credits #{r}: {args.credits:,} each through {', '.join(runs)}")
        for bench, run in runs.items():
            emit(records, bench, repeat=r, **measure(run, count=args.credits, tag=str(r)))
    log("verify_ledger after the credits; hordak's accounting equation")
    emit(records, "verify", repeat=1, stage="credited", **measure(ledger_runs.ledger_verify))
    emit(records, "hordak_balanced", ok=ledger_hordak.hordak_balanced())


def median(records: Records, bench: str, key: str, **where: Any) -> float:
    values = [
        r[key]
        for r in records
        if r["bench"] == bench and all(r.get(k) == v for k, v in where.items())
    ]
    return statistics.median(values) if values else float("nan")


def summary(records: Records) -> dict[str, Any]:
    expire_s = median(records, "expire_set_based", "seconds")
    set_rate = median(records, "expire_set_based", "lots_per_s")
    naive_rate = median(records, "expire_naive", "lots_per_s")
    due = median(records, "expire_set_based", "lots")
    verify_s = median(records, "verify", "seconds", stage="loaded")
    credits = median(records, "credits_vafa", "credits_per_s")
    hordak = median(records, "credits_hordak", "credits_per_s")
    raw = median(records, "credits_raw_sql", "credits_per_s")
    return {
        "expire_seconds": expire_s,
        "expire_lots": due,
        "expire_set_lots_per_s": set_rate,
        "expire_naive_lots_per_s": naive_rate,
        "expire_speedup": set_rate / naive_rate,
        "naive_projected_seconds": due / naive_rate,
        "verify_seconds": verify_s,
        "verify_entries": median(records, "verify", "entries", stage="loaded"),
        "verify_after_expiry_seconds": median(records, "verify", "seconds", stage="expired"),
        "credits_per_s": credits,
        "raw_sql_credits_per_s": raw,
        "hordak_credits_per_s": hordak,
        "credits_vs_hordak": credits / hordak,
        "loadavg_end": os.getloadavg(),
        "all_consistent": all(r["consistent"] for r in records if r["bench"] == "verify"),
        "targets": TARGETS,
        "met": {
            "expire_seconds": expire_s <= TARGETS["expire_seconds_max"],
            "expire_speedup": set_rate / naive_rate >= TARGETS["expire_speedup_min"],
            "credits_per_s": credits >= TARGETS["credits_per_s_min"],
            "verify_seconds": verify_s <= TARGETS["verify_seconds_max"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    django_setup()
    from django.utils import timezone

    from bench import ledger_db

    if args.create_db:
        ledger_db.database_recreate()
    records: Records = []
    ledger_db.database_migrate()
    as_of = timezone.now().replace(microsecond=0)
    emit(records, "environment", as_of=as_of, **environment(args))
    scale = ledger_db.Scale(args.accounts, args.lots, args.due_fraction, as_of)
    bench_expiry(records, args, scale)
    if not args.skip_naive:
        bench_naive(records, args, scale)
    bench_credits(records, args)
    result = emit(records, "summary", **summary(records))
    log(json.dumps(result, indent=2))
    return 0 if result["all_consistent"] else 1


if __name__ == "__main__":
    sys.exit(main())
