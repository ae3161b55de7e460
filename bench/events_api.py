"""Events API under gunicorn (issue 4): POST /api/v1/events/ purchases from wrk.

gunicorn runs the production profile (DEBUG off, 2 sync workers, ``gunicorn.conf.py``) on
PostgreSQL and Redis; wrk, in a second process on the same box, posts purchases with a
unique idempotency key and order id each, for random members. Every run is ``--seconds``
long, at each ``--connections`` level, ``--repeat`` times; the summary quotes medians and
checks them against the target (≥ 300 purchase events/s with p99 < 100 ms). Afterwards
``verify_ledger`` must find nothing, and every 201 must have written its event.

The per-key API rate limit is raised for the run (``API_RATE_LIMIT=1000000/min``): the
default 6000/min would refuse most of the load. Each purchase also queues a
``referral_qualify_task`` in Redis; no worker runs here (the locust bench has one), so the
queue only grows, and is emptied at the end.

    PYTHONPATH=. .venv/bin/python -m bench.events_api --create-db > var/bench-events-api.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from bench.options import add_database_options
from bench.web_measure import WrkPlan, medians, wrk_measured
from bench.web_run import (
    bench_env,
    collectstatic,
    database_drop,
    django_setup,
    emit,
    environment,
    gunicorn,
    log,
    redis_flush,
    wait_healthy,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vafa_bench_api"
PREFIX = "/api/v1/events/"
TARGET = {"events_per_s_min": 300.0, "p99_ms_max": 100.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.events_api", description=__doc__)
    add = parser.add_argument
    add("--members", type=int, default=100_000, help="members, each with an account")
    add("--lots", type=int, default=1_000_000, help="past credits loaded (one entry each)")
    add("--connections", default="4,8,16", help="wrk connections, comma-separated levels")
    add("--threads", type=int, default=2, help="wrk threads")
    add("--seconds", type=int, default=30, help="length of one timed run")
    add("--warmup", type=int, default=10, help="seconds of untimed load first")
    add("--repeat", type=int, default=3, help="timed runs per connection level")
    add("--port", type=int, default=8701)
    add("--redis-db", type=int, default=10)
    add("--max-requests", type=int, default=None, help="GUNICORN_MAX_REQUESTS (default: conf)")
    add_database_options(parser)
    return parser.parse_args(argv)


def server_env(args: argparse.Namespace) -> dict[str, str]:
    extra = {"API_RATE_LIMIT": "1000000/min"}
    if args.max_requests is not None:
        extra["GUNICORN_MAX_REQUESTS"] = str(args.max_requests)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    return bench_env(database_url=database_url, redis_db=args.redis_db, port=args.port, **extra)


def prepare(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Database, data and program; returns the raw API key."""
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
    return web_db.program_create(now=now).api_key


def run_levels(records: list[dict[str, Any]], args: argparse.Namespace, env: dict, key: str):
    from bench.web_run import VAR

    url = f"http://127.0.0.1:{args.port}/api/v1/events/"
    lua = {"VAFA_API_KEY": key, "VAFA_MEMBERS": str(args.members)}
    log_path = VAR / "gunicorn.log"
    levels = [int(c) for c in args.connections.split(",")]
    run_id = f"{int(time.time())}"  # keys stay unique when a database is reused
    measure = {"quiet_wait": args.quiet_wait, "log_path": log_path}
    measure |= {"database": env["DATABASE_URL"].rsplit("/", 1)[-1]}
    warm = WrkPlan(
        "events.lua", url, args.threads, levels[0], args.warmup, lua | {"VAFA_RUN": f"{run_id}w"}
    )
    log(f"warm-up {args.warmup} s")
    result = wrk_measured(warm, **measure | {"quiet_wait": 0}, method="POST", prefix=PREFIX)
    emit(records, "warmup", connections=levels[0], **result)
    for r in range(1, args.repeat + 1):
        for connections in levels:
            tag = f"r{r}c{connections}"
            plan = WrkPlan(
                "events.lua",
                url,
                args.threads,
                connections,
                args.seconds,
                lua | {"VAFA_RUN": run_id + tag},
            )
            log(f"run {tag}: {args.seconds} s, {connections} connections")
            result = wrk_measured(plan, **measure, method="POST", prefix=PREFIX)
            emit(records, "events_api", repeat=r, connections=connections, **result)
            log(f"  {result['rps']:.0f}/s, p99 {result['latency_ms']['p99']:.1f} ms")


def written_events(prefix: str) -> int:
    from loyalty.models import Event

    return Event.objects.filter(idempotency_key__startswith=prefix).count()


def summary(records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    by_level = {}
    for connections in [int(c) for c in args.connections.split(",")]:
        runs = [
            r for r in records if r["bench"] == "events_api" and r["connections"] == connections
        ]
        level = medians(runs)
        level["met"] = (
            level["rps"] >= TARGET["events_per_s_min"]
            and level["p99_ms"] < TARGET["p99_ms_max"]
            and level["errors"] == 0  # every answer a 201
        )
        by_level[str(connections)] = level
    created = sum(
        r["statuses"].get("201", 0) for r in records if r["bench"] in ("events_api", "warmup")
    )
    verify = next(r for r in records if r["bench"] == "verify")
    return {
        "target": TARGET,
        "by_connections": by_level,
        "met_at_some_level": any(level["met"] for level in by_level.values()),
        "created_201": created,
        # requests still in flight when wrk stopped were written but not counted by wrk
        "events_written": verify["events_written"],
        "consistent": verify["consistent"],
        "loadavg_end": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = server_env(args)
    django_setup(env)
    records: list[dict[str, Any]] = []
    api_key = prepare(records, args)
    database = env["DATABASE_URL"].rsplit("/", 1)[-1]
    emit(records, "environment", **environment(database, vars(args)))
    redis_flush(args.redis_db)
    collectstatic(env)  # the API serves no static files, but the production storage wants them
    with gunicorn(env):
        wait_healthy(f"http://127.0.0.1:{args.port}")
        run_levels(records, args, env, api_key)
    from bench.ledger_runs import ledger_verify

    log("verify_ledger")
    emit(records, "verify", **ledger_verify(), events_written=written_events("k-"))
    emit(records, "redis", referral_tasks_queued=redis_flush(args.redis_db))
    result = emit(records, "summary", **summary(records, args))
    if not args.keep_db:
        database_drop()
    return 0 if result["consistent"] else 1


if __name__ == "__main__":
    sys.exit(main())
