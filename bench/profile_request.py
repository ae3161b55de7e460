"""Where the time of one request goes: run a page or an API call many times in process
(Django's test client, production settings, a loaded bench database) and report the
median time, the queries per request and the time they took, and a cProfile summary.

Used to explain the web benchmarks' results; not a benchmark itself (no network, no
gunicorn, one process).

    PYTHONPATH=. DATABASE_URL=postgres://postgres@127.0.0.1:5432/vafa_bench_api \\
        .venv/bin/python -m bench.profile_request event --count 300
    ... -m bench.profile_request page /me/ --count 300
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.web_run import bench_env, django_setup, log


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_request", description=__doc__)
    parser.add_argument("what", choices=["event", "page", "import"])
    parser.add_argument("path", nargs="?", default="/me/", help="page path (for 'page')")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--members", type=int, default=100_000, help="ids to pick from")
    parser.add_argument("--top", type=int, default=30, help="cProfile lines shown")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    return parser.parse_args(argv)


def _event_caller(args: argparse.Namespace) -> Callable[[int], Any]:
    import random

    from django.test import Client

    from loyalty.services.apikeys import api_key_create

    _key, raw = api_key_create(name=f"profile {time.time()}")
    client = Client(HTTP_HOST="127.0.0.1", headers={"authorization": f"Api-Key {raw}"})
    tag = f"p{int(time.time())}"
    rng = random.Random(7)

    def call(i: int) -> Any:
        body = {
            "idempotency_key": f"{tag}-{i}",
            "type": "purchase",
            "member_id": rng.randint(1, args.members),
            "amount": f"{rng.randint(5, 199)}.{rng.randint(0, 99):02d}",
            "currency": "EUR",
            "order_id": f"{tag}-{i}",
        }
        response = client.post("/api/v1/events/", body, content_type="application/json")
        assert response.status_code == 201, response.content
        return response

    return call


def _page_caller(args: argparse.Namespace) -> Callable[[int], Any]:
    from django.test import Client

    from accounts.models import User
    from bench.web_db import members_sample

    clients = []
    for member_id in members_sample(20):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(pk=member_id))
        clients.append(client)

    def call(i: int) -> Any:
        response = clients[i % len(clients)].get(args.path)
        assert response.status_code == 200, response.status_code
        return response

    return call


def import_profiled(args: argparse.Namespace) -> str:
    """``manage.py import_events`` on a CSV of ``--count`` purchases, under cProfile."""
    from django.core.management import call_command
    from django.utils import timezone

    from bench.events_import import csv_write
    from bench.web_run import VAR

    path = VAR / "profile-import.csv"
    now = timezone.now()
    csv_write(path, rows=args.count, members=args.members, tag=f"prof{now.timestamp()}", now=now)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profile = cProfile.Profile()
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        profile.enable()
        call_command("import_events", str(path), stdout=io.StringIO())
        profile.disable()
    log(f"{args.count / (time.perf_counter() - start):,.0f} rows/s under the profiler")
    path.unlink()
    by_shape: Counter = Counter()
    for query in captured.captured_queries:
        by_shape[" ".join(query["sql"].split())[:70]] += float(query["time"])
    for shape, seconds in by_shape.most_common(12):
        log(f"  SQL {seconds:7.3f} s  {shape}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
    return out.getvalue()


def measure(call: Callable[[int], Any], count: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(20):  # warm-up: caches, first-use code paths
        call(-1 - i)
    times, queries, sql_ms, shapes = [], [], [], Counter()
    for i in range(count):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            call(i)
            times.append((time.perf_counter() - start) * 1000)
        queries.append(len(captured.captured_queries))
        sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        shapes.update(q["sql"][:90] for q in captured.captured_queries)
    return {
        "count": count,
        "median_ms": statistics.median(times),
        "queries_per_request": statistics.median(queries),
        "sql_ms_median": statistics.median(sql_ms),
        "queries": [{"n": n / count, "sql": sql} for sql, n in shapes.most_common(40)],
    }


def profiled(call: Callable[[int], Any], count: int, top: int, sort: str) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for i in range(count):
        call(100_000 + i)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vafa_bench")
    env = bench_env(database_url=database_url, redis_db=13, port=8799)
    django_setup(env)
    if args.what == "import":
        print(import_profiled(args), file=sys.stderr)
        return 0
    call = _event_caller(args) if args.what == "event" else _page_caller(args)
    result = measure(call, args.count)
    print(json.dumps({"what": args.what, "path": args.path, **result}, indent=1))
    log("profiling")
    print(profiled(call, args.count, args.top, args.sort), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
