"""Production load test (issue 10): locust, headless, against gunicorn + PostgreSQL + Redis
+ a Celery worker, with mixed traffic (``bench/locustfile.py``).

Loads a program (``--members`` members with accounts and ``--lots`` ledger entries, tiers,
the purchase rule, a live campaign, rewards, referral codes), writes the locust fixture
(session keys of ``--sessions`` members, an API key, members rich enough to redeem,
referral codes), collects static files, starts gunicorn (production profile, 2 sync
workers) and one Celery worker (which runs the tasks the traffic queues: referral
qualification after each purchase, redemption emails), runs locust ``--repeat`` times
with ``--users`` users for ``--run-time`` seconds (waiting for idle CPUs and for the
worker to empty the queue after each run), and checks ``verify_ledger``. Locust's CSV
files are kept under var/bench/ (``--csv-dir``); the summary has, per endpoint, the
medians of the runs. Target: 0 failed requests.

    PYTHONPATH=. .venv/bin/python -m bench.load --create-db > var/bench-load.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.options import add_database_options
from bench.web_run import (
    VAR,
    VENV_BIN,
    CpuShares,
    bench_env,
    celery_worker,
    collectstatic,
    database_drop,
    django_setup,
    emit,
    environment,
    gunicorn,
    log,
    redis_flush,
    run,
    wait_healthy,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vafa_bench_load"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
STAT_FIELDS = {
    "Request Count": "requests",
    "Failure Count": "failures",
    "Requests/s": "rps",
    "Average Response Time": "mean_ms",
    "50%": "p50_ms",
    "95%": "p95_ms",
    "99%": "p99_ms",
    "Max Response Time": "max_ms",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    add = parser.add_argument
    add("--members", type=int, default=100_000, help="members, each with an account")
    add("--lots", type=int, default=1_000_000, help="ledger entries (one lot each)")
    add("--users", type=int, default=50, help="locust users")
    add("--spawn-rate", type=float, default=10, help="locust users started per second")
    add("--run-time", type=int, default=120, help="seconds of load")
    add("--repeat", type=int, default=3, help="locust runs, one after the other")
    add("--sessions", type=int, default=200, help="signed-in members the portal users share")
    add("--port", type=int, default=8703)
    add("--redis-db", type=int, default=13)
    add("--csv-dir", type=Path, default=VAR, help="where locust's CSV files go")
    add_database_options(parser)
    return parser.parse_args(argv)


def prepare(records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Data and the locust fixture."""
    from django.utils import timezone

    from bench import ledger_db, web_db

    if args.create_db:
        ledger_db.database_recreate()
    ledger_db.database_migrate()
    now = timezone.now().replace(microsecond=0)
    if not args.reuse_db:
        log(f"load {args.members:,} members, {args.lots:,} lots")
        start = time.perf_counter()
        rows = web_db.web_load(members=args.members, lots=args.lots, now=now)
        emit(records, "load", seconds=time.perf_counter() - start, rows=rows)
    program = web_db.program_create(now=now)
    return {
        "members": args.members,
        "api_key": program.api_key,
        "reward_id": program.reward_ids[0],
        "sessions": web_db.sessions_create(web_db.members_sample(args.sessions, seed=2)),
        "rich_members": web_db.members_sample(2000, min_balance=2000, seed=3),
        "referral_codes": [web_db.referral_code(m) for m in web_db.members_sample(500, seed=4)],
    }


def locust(args: argparse.Namespace, fixture_path: Path, repeat: int) -> dict[str, Any]:
    prefix = args.csv_dir / f"locust-{repeat}"
    command = [str(VENV_BIN / "locust"), "-f", str(LOCUSTFILE), "--headless"]
    command += ["-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.run_time}s"]
    command += ["--host", f"http://127.0.0.1:{args.port}", "--csv", str(prefix)]
    command += ["--only-summary"]
    done = run(command, env={"VAFA_LOCUST_FIXTURE": str(fixture_path)}, check=False)
    (VAR / f"locust-{repeat}.log").write_text(done.stdout + done.stderr)
    return {"exit_code": done.returncode, "stats_csv": f"{prefix}_stats.csv"}


def locust_stats(path: Path) -> list[dict[str, Any]]:
    """One record per endpoint (and the aggregate) from locust's ``_stats.csv``."""
    rows = []
    with path.open(newline="") as stream:
        for row in csv.DictReader(stream):
            record: dict[str, Any] = {"method": row["Type"], "name": row["Name"]}
            for column, key in STAT_FIELDS.items():
                value = row[column]
                record[key] = float(value) if value not in ("", "N/A") else None
            rows.append(record)
    return rows


def queue_drained(redis_db: int, *, timeout: float = 180) -> dict[str, Any]:
    """Wait until the worker has taken every queued task."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=redis_db)
    start = time.monotonic()
    left = client.llen("celery")
    while left and time.monotonic() - start < timeout:
        time.sleep(1)
        left = client.llen("celery")
    return {"queued_left": left, "drain_s": round(time.monotonic() - start, 1)}


def load_run(
    records: list[dict[str, Any]], args: argparse.Namespace, env: dict[str, str], fixture: dict
) -> None:
    from bench.machine import wait_quiet

    fixture_path = VAR / "locust-fixture.json"
    fixture_path.write_text(json.dumps(fixture))
    collectstatic(env)
    redis_flush(args.redis_db)
    database = env["DATABASE_URL"].rsplit("/", 1)[-1]
    with gunicorn(env), celery_worker(env):
        wait_healthy(f"http://127.0.0.1:{args.port}")
        for r in range(1, args.repeat + 1):
            waited = wait_quiet(args.quiet_wait)
            log(f"locust #{r}: {args.users} users for {args.run_time} s")
            shares = CpuShares(database)
            shares.start()
            result = locust(args, fixture_path, r)
            cpu = shares.stop()
            drained = queue_drained(args.redis_db)
            emit(records, "locust", repeat=r, waited_s=waited, **result, **cpu, **drained)
            for row in locust_stats(Path(result["stats_csv"])):
                emit(records, "endpoint", repeat=r, **row)


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per endpoint: the median over the runs of throughput and percentiles; failures and
    requests are totals."""
    rows = [r for r in records if r["bench"] == "endpoint"]
    table = {}
    for name in dict.fromkeys(r["name"] for r in rows):
        runs = [r for r in rows if r["name"] == name]
        table[name] = {
            "requests": sum(r["requests"] for r in runs),
            "failures": sum(r["failures"] for r in runs),
            **{
                key: statistics.median(r[key] for r in runs)
                for key in ("rps", "p50_ms", "p95_ms", "p99_ms")
            },
            "p99_ms_all": [r["p99_ms"] for r in runs],
        }
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_env(database_url=database_url, redis_db=args.redis_db, port=args.port)
    django_setup(env)
    records: list[dict[str, Any]] = []
    fixture = prepare(records, args)
    emit(records, "environment", **environment(database_url.rsplit("/", 1)[-1], vars(args)))
    load_run(records, args, env, fixture)
    from bench.ledger_runs import ledger_verify

    log("verify_ledger")
    verify = emit(records, "verify", **ledger_verify())
    table = summary(records)
    total = table["Aggregated"]
    emit(
        records,
        "summary",
        endpoints=table,
        met=total["failures"] == 0,
        exit_codes=[r["exit_code"] for r in records if r["bench"] == "locust"],
        consistent=verify["consistent"],
    )
    redis_flush(args.redis_db)
    if not args.keep_db:
        database_drop()
    return 0 if verify["consistent"] and total["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
