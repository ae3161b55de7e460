"""The member dashboard (/me/) while Redis hangs (issue 15).

gunicorn runs the production profile (DEBUG off, 2 sync workers) on PostgreSQL, with
``REDIS_URL`` and ``CACHE_URL`` on a private redis-server this script starts on its own
port (``--save "" --appendonly no``): the cache, the sessions read from it and the Celery
broker all live there. ``--users`` threads of this process, each signed in as a different
member on its own keep-alive connection, request /me/ over and over (no think time) in
three phases of ``--seconds`` each: Redis running, Redis paused (SIGSTOP: connections are
accepted, nothing is ever answered) and Redis resumed (SIGCONT). One JSON line per phase
(client-side latency percentiles, statuses, errors, the server's own times from the access
log), then a summary with the p95 of each phase against the target: p95 < 1.5 s while
paused, every answer a 200. (Python threads instead of wrk: the point is seconds, not
milliseconds, and the bench then needs nothing beyond bench/requirements.txt.)

``--old-timeouts`` runs the same with 5 s Redis timeouts and no skipping after a failure
(``REDIS_SOCKET_TIMEOUT=5 REDIS_CONNECT_TIMEOUT=5 REDIS_RETRY_AFTER=0``): what a request
paid before issue 15, when the cache had no timeouts of its own and redis-py 8's default
socket timeout of 5 s applied to every call.

    PYTHONPATH=. .venv/bin/python -m bench.redis_pause --create-db > var/bench-redis-pause.jsonl
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from typing import Any

from bench.machine import wait_quiet
from bench.options import add_database_options
from bench.web_measure import access_log_size, server_times
from bench.web_run import (
    VAR,
    bench_env,
    collectstatic,
    database_drop,
    django_setup,
    emit,
    environment,
    gunicorn,
    http_get,
    log,
    run,
    wait_healthy,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vafa_h_bench"
PATH = "/me/"
PHASES = ("running", "paused", "resumed")
TARGET_PAUSED_P95_MS = 1500.0
OLD_TIMEOUTS = {"REDIS_SOCKET_TIMEOUT": "5", "REDIS_CONNECT_TIMEOUT": "5", "REDIS_RETRY_AFTER": "0"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_pause", description=__doc__)
    add = parser.add_argument
    add("--members", type=int, default=2000, help="members, each with an account")
    add("--lots", type=int, default=20_000, help="ledger entries (one lot each)")
    add("--users", type=int, default=10, help="concurrent virtual users (distinct members)")
    add("--seconds", type=int, default=20, help="length of each phase")
    add("--port", type=int, default=8715, help="gunicorn's port")
    add("--redis-port", type=int, default=6395, help="the private redis-server's port")
    add("--old-timeouts", action="store_true", help="5 s timeouts, no skip (before issue 15)")
    add_database_options(parser)
    return parser.parse_args(argv)


@contextmanager
def private_redis(port: int) -> Iterator[subprocess.Popen]:
    """A redis-server of our own; always resumed and killed at the end."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        _wait_ping(port)
        yield process
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait(timeout=10)


def _wait_ping(port: int) -> None:
    import redis

    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"redis-server on port {port} did not start")


def prepare(records: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    from django.utils import timezone

    from bench import ledger_db, web_db

    if args.create_db:
        ledger_db.database_recreate()
    ledger_db.database_migrate()
    if not args.reuse_db:
        now = timezone.now().replace(microsecond=0)
        log(f"load {args.members:,} members, {args.lots:,} lots")
        rows = web_db.web_load(members=args.members, lots=args.lots, now=now)
        web_db.program_create(now=now)
        emit(records, "load", rows=rows)
    return web_db.sessions_create(web_db.members_sample(args.users))


def _user(port: int, key: str, until: float, out: list[float], statuses: Counter) -> None:
    """One member requesting /me/ until ``until``; latencies in ms into ``out``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"sessionid={key}"}
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            conn.request("GET", PATH, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses[str(response.status)] += 1
        except (OSError, http.client.HTTPException) as error:
            statuses[type(error).__name__] += 1
            conn.close()
        out.append((time.monotonic() - started) * 1000)
    conn.close()


def load(port: int, keys: list[str], seconds: int) -> dict[str, Any]:
    """All users at once for ``seconds``: throughput, latency percentiles, statuses."""
    until = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: Counter = Counter()
    users = [
        threading.Thread(target=_user, args=(port, key, until, latencies, statuses)) for key in keys
    ]
    started = time.monotonic()
    for user in users:
        user.start()
    for user in users:
        user.join()
    wall = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    latency = {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(latencies)}
    errors = sum(n for status, n in statuses.items() if status != "200")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "latency_ms": latency,
        "statuses": dict(statuses),
        "errors": errors,
    }


def run_phases(args: argparse.Namespace, keys: list[str], redis: subprocess.Popen) -> list:
    if (
        http_get(f"http://127.0.0.1:{args.port}{PATH}", headers={"Cookie": f"sessionid={keys[0]}"})
        != 200
    ):
        raise SystemExit(f"{PATH} did not answer 200 to a signed-in member")
    log_path = VAR / "gunicorn.log"
    results = []
    for phase in PHASES:
        waited = wait_quiet(args.quiet_wait)
        offset = access_log_size(log_path)
        if phase == "paused":
            os.kill(redis.pid, signal.SIGSTOP)
        log(f"{phase}: {args.users} users, {args.seconds} s")
        try:
            result = load(args.port, keys, args.seconds)
        finally:
            os.kill(redis.pid, signal.SIGCONT)
        result["server_ms"] = server_times(log_path, offset, method="GET", prefix=PATH)
        results.append({"phase": phase, **result, "waited_s": waited, "loadavg": os.getloadavg()})
        log(f"  {result['rps']:.0f}/s, p95 {result['latency_ms']['p95']:.1f} ms")
    return results


def redis_tools() -> dict[str, str]:
    """The versions this bench drives: redis-py and the private redis-server."""
    server = run(["redis-server", "--version"]).stdout.strip()
    return {"redis_py": version("redis"), "redis_server": server}


def summary(records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    runs = {r["phase"]: r for r in records if r["bench"] == "redis_pause"}
    out: dict[str, Any] = {"users": args.users, "old_timeouts": args.old_timeouts}
    for phase, phase_run in runs.items():
        latency = phase_run["latency_ms"]
        out[phase] = {
            "rps": phase_run["rps"],
            **{f"{p}_ms": latency[p] for p in ("p50", "p95", "p99")},
            "errors": phase_run["errors"],
            "server_p95_ms": phase_run["server_ms"].get("p95"),
        }
    paused = out.get("paused", {})
    out["target_paused_p95_ms"] = TARGET_PAUSED_P95_MS
    out["met"] = paused.get("p95_ms", 1e9) < TARGET_PAUSED_P95_MS and paused.get("errors") == 0
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = f"redis://127.0.0.1:{args.redis_port}"
    extra = {"REDIS_URL": f"{redis_url}/0", "CACHE_URL": f"{redis_url}/1"}
    extra |= OLD_TIMEOUTS if args.old_timeouts else {}
    env = bench_env(database_url=database_url, redis_db=0, port=args.port, **extra)
    records: list[dict[str, Any]] = []
    with private_redis(args.redis_port) as redis:
        django_setup(env)
        keys = prepare(records, args)
        database = database_url.rsplit("/", 1)[-1]
        emit(records, "environment", **environment(database, vars(args), tools=redis_tools()))
        collectstatic(env)
        with gunicorn(env):
            wait_healthy(f"http://127.0.0.1:{args.port}")
            for result in run_phases(args, keys, redis):
                emit(records, "redis_pause", **result)
    emit(records, "summary", **summary(records, args))
    if not args.keep_db:
        database_drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
