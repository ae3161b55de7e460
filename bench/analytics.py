"""The staff analytics page (issue 9) on PostgreSQL with 1,000,000 ledger entries: the
time to answer ``GET /admin/analytics/`` end to end in process (Django's test client:
middleware, the report's queries, template and Chart.js data rendered), as a staff member
of the Marketing group (which holds ``config.view_analytics``), production settings.

Cases: the page's default range (the last twelve months), all time (every entry in
range), and the CSV download of the monthly table for all time. Each case gets
``--warmup`` untimed requests, then ``--repeat`` timed ones after waiting for idle CPUs;
one more request per case, outside the timing, counts the queries and times each of them.
The summary quotes medians against the target: under 1 s.

    PYTHONPATH=. .venv/bin/python -m bench.analytics --create-db > var/bench-analytics.jsonl
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.machine import busy_between, cpu_times, wait_quiet
from bench.options import add_database_options
from bench.web_run import (
    GIT,
    CpuShares,
    bench_env,
    collectstatic,
    database_drop,
    django_setup,
    emit,
    log,
    redis_flush,
    run,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vafa_bench_analytics"
TARGET_MS = 1000.0
CASES = ("default", "all_time", "csv_all_time")
Records = list[dict[str, Any]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    add = parser.add_argument
    add("--members", type=int, default=100_000, help="members, each with an account")
    add("--entries", type=int, default=1_000_000, help="ledger entries, all kinds")
    add("--months", type=int, default=24, help="months of history (at least 12)")
    add("--repeat", type=int, default=9, help="timed requests per case")
    add("--warmup", type=int, default=2, help="untimed requests per case first")
    add("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    add("--redis-db", type=int, default=14)
    add_database_options(parser)
    args = parser.parse_args(argv)
    if unknown := set(args.cases.split(",")) - set(CASES):
        parser.error(f"unknown cases: {sorted(unknown)}")
    return args


def environment(database: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench.ledger_db import server_facts

    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit(),
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_total": meminfo["MemTotal"].strip(),
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "django": version("django"),
        "psycopg": version("psycopg"),
        "database": database,
        "postgres": server_facts(),
        "args": vars(args),
    }


def commit() -> str:
    """HEAD of the checkout, or BENCH_COMMIT when run in a ``git archive`` export."""
    head = run([GIT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    return head or os.environ.get("BENCH_COMMIT", "unknown")


def prepare(records: Records, args: argparse.Namespace) -> None:
    from django.utils import timezone

    from bench import analytics_db, ledger_db

    if args.create_db:
        ledger_db.database_recreate()
    ledger_db.database_migrate()
    if args.reuse_db:
        return
    now = timezone.now().replace(microsecond=0)
    plan = analytics_db.Plan(args.members, args.entries, args.months, now)
    log(f"load {args.members:,} members, {args.entries:,} entries over {args.months} months")
    start = time.perf_counter()
    rows = analytics_db.analytics_load(plan)
    emit(records, "load", seconds=round(time.perf_counter() - start, 1), now=now, rows=rows)


def data_facts() -> dict[str, Any]:
    """What the loaded database holds (also after --reuse-db)."""
    from django.db import connection

    sql = """
        SELECT (SELECT count(*) FROM loyalty_entry), (SELECT count(*) FROM loyalty_account),
               (SELECT min(occurred_at) FROM loyalty_entry),
               (SELECT max(occurred_at) FROM loyalty_entry),
               (SELECT count(*) FROM loyalty_event), (SELECT count(*) FROM loyalty_campaign),
               (SELECT count(*) FROM rewards_redemption),
               (SELECT count(*) FROM referrals_referral),
               (SELECT count(*) FROM loyalty_membersegment)
    """
    names = ("entries", "accounts", "first_entry", "last_entry", "events", "campaigns")
    names += ("redemptions", "referrals", "segments")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
        cursor.execute("SELECT kind, count(*) FROM loyalty_entry GROUP BY kind ORDER BY 2 DESC")
        kinds = dict(cursor.fetchall())
    return {**dict(zip(names, row, strict=True)), "entries_by_kind": kinds}


def staff_client() -> Any:
    """A test client signed in as a staff member of the Marketing group (not a superuser)."""
    from django.contrib.auth.models import Group
    from django.test import Client

    from accounts.models import User
    from bench.analytics_db import STAFF_EMAIL

    user, _created = User.objects.get_or_create(email=STAFF_EMAIL, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Marketing"))
    user = User.objects.get(pk=user.pk)  # no cached permissions
    if user.is_superuser or not user.has_perm("config.view_analytics"):
        raise SystemExit(f"{user} should be plain staff with the analytics permission")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def case_urls() -> dict[str, tuple[str, dict[str, Any]]]:
    """Per case: the URL and the period it covers."""
    from django.db.models import Min
    from django.urls import reverse
    from django.utils import timezone

    from config.analytics_views import default_period
    from loyalty.models import Entry
    from loyalty.timing import local_date

    url = reverse("analytics")
    today = local_date(timezone.now())
    first = local_date(Entry.objects.aggregate(first=Min("occurred_at"))["first"])
    default = default_period(today)
    all_time = f"{url}?first={first}&last={today}"
    return {
        "default": (url, {"first": default.first, "last": default.last}),
        "all_time": (all_time, {"first": first, "last": today}),
        "csv_all_time": (f"{all_time}&download=monthly", {"first": first, "last": today}),
    }


def entries_between(first: Any, last: Any) -> int:
    from config.backoffice.report import Period
    from loyalty.models import Entry

    period = Period(first=first, last=last)
    return Entry.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end).count()


def timed(client: Any, url: str, count: int) -> tuple[list[float], list[float]]:
    """``count`` requests: milliseconds each, and the share of both CPUs busy during each."""
    times, busy = [], []
    for _n in range(count):
        before = cpu_times()
        start = time.perf_counter()
        response = client.get(url)
        times.append(round((time.perf_counter() - start) * 1000, 1))
        busy.append(busy_between(before, cpu_times()))
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return times, busy


def queries_of(client: Any, url: str) -> dict[str, Any]:
    """One more request with every query captured: how many, SQL time, the slowest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        client.get(url)
        total = (time.perf_counter() - start) * 1000
    queries = [(float(q["time"]) * 1000, " ".join(q["sql"].split())) for q in captured]
    slowest = sorted(queries, reverse=True)[:6]
    return {
        "queries": len(queries),
        "captured_ms": round(total, 1),
        "sql_ms": round(sum(ms for ms, _sql in queries), 1),
        "slowest": [{"ms": round(ms, 1), "sql": sql[:160]} for ms, sql in slowest],
    }


def measure_case(client: Any, case: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench.ledger_db import database_name

    timed(client, url, args.warmup)
    waited = wait_quiet(args.quiet_wait)
    loadavg = os.getloadavg()
    shares = CpuShares(database_name())
    shares.start()
    times, busy = timed(client, url, args.repeat)
    cpu = shares.stop()
    return {
        "case": case,
        "url": url,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "times_ms": times,
        "cpu_busy_each": busy,
        **cpu,
        "loadavg_before": loadavg,
        "waited_s": waited,
        **queries_of(client, url),
    }


def summary(records: Records) -> dict[str, Any]:
    cases = {r["case"]: r for r in records if r["bench"] == "analytics_page"}
    out: dict[str, Any] = {"target_ms": TARGET_MS, "loadavg_end": os.getloadavg()}
    for case, r in cases.items():
        out[case] = {
            "median_ms": r["median_ms"],
            "min_ms": r["min_ms"],
            "max_ms": r["max_ms"],
            "queries": r["queries"],
            "entries_in_range": r["entries_in_range"],
            "cpu_busy": r["cpu_busy"],
            "cpu_others_share": r["cpu_others_share"],
        }
    met = {case: r["median_ms"] < TARGET_MS for case, r in cases.items()}
    return {**out, "met": met, "all_met": all(met.values())}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = bench_env(database_url=database_url, redis_db=args.redis_db, port=8704)
    django_setup(env)
    records: Records = []
    prepare(records, args)
    emit(records, "environment", **environment(database_url.rsplit("/", 1)[-1], args))
    emit(records, "data", **data_facts())
    collectstatic(env)
    client = staff_client()
    urls = case_urls()
    for case in args.cases.split(","):
        url, period = urls[case]
        log(f"{case}: {args.warmup} + {args.repeat} requests of {url}")
        result = measure_case(client, case, url, args)
        result |= {"period": period, "entries_in_range": entries_between(**period)}
        emit(records, "analytics_page", **result)
        log(f"  median {result['median_ms']:.0f} ms, {result['queries']} queries")
    emit(records, "summary", **summary(records))
    if not args.keep_db:
        database_drop()
    redis_flush(args.redis_db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
