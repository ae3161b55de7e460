"""What the web benchmarks share: the production environment (DEBUG off) pointed at a
bench database and a Redis database of their own, gunicorn and Celery processes started
and stopped by pid, wrk runs parsed from the JSON line its Lua ``done()`` prints, and a
record of who used the CPUs while a run went on.

A web benchmark keeps both CPUs busy by design (two gunicorn workers, their PostgreSQL
backends and the load tool), so the share of busy CPUs says nothing about disturbance.
:class:`CpuShares` instead splits the CPU time spent during a run by process: this bench
(its process tree and the PostgreSQL backends of its database), PostgreSQL's own
background processes, and everything else (other people's work on the shared box).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil

from bench.machine import busy_between, cpu_times

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
VAR = ROOT / "var" / "bench"
WRK_DIR = Path(__file__).resolve().parent / "wrk"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
GIT = shutil.which("git") or "/usr/bin/git"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(records: list[dict[str, Any]], bench: str, **fields: Any) -> dict[str, Any]:
    """Print one JSON line and keep it for the summary."""
    record = {"bench": bench, **fields}
    print(json.dumps(record, default=str), flush=True)
    records.append(record)
    return record


def run(
    command: list[str], *, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """A command of ours (fixed programs, arguments from this bench), output captured."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=full_env, capture_output=True, text=True, check=check
    )


def bench_env(*, database_url: str, redis_db: int, port: int, **extra: str) -> dict[str, str]:
    """The production profile (DEBUG off) on plain HTTP at 127.0.0.1, with this bench's
    database and Redis database (broker, results and cache alike)."""
    if "bench" not in database_url.rsplit("/", 1)[-1]:
        raise SystemExit(f"refusing {database_url!r}: the database name must contain 'bench'")
    redis = f"redis://127.0.0.1:6379/{redis_db}"
    env = {
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis,
        "CACHE_URL": redis,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "STATIC_ROOT": str(VAR / "static"),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    return {**env, **extra}


def django_setup(env: dict[str, str]) -> None:
    """Configure this process like the servers (same SECRET_KEY: sessions made here are
    valid there)."""
    os.environ.update(env)
    import django

    django.setup()


def database_drop() -> None:
    """DROP the bench database this process is configured for (its name has 'bench')."""
    import psycopg
    from django.conf import settings
    from django.db import connection

    from bench.ledger_db import database_name

    name, db = database_name(), settings.DATABASES["default"]
    connection.close()
    conninfo = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": "postgres"}
    with psycopg.connect(**conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush(db: int) -> int:
    """Empty the bench's own Redis database; returns the Celery tasks that were queued."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=db)
    queued = client.llen("celery")
    client.flushdb()
    return queued


def collectstatic(env: dict[str, str]) -> None:
    """The manifest the production static storage needs, in the bench's own folder."""
    command = [str(VENV_BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"]
    run(command, env=env)


@dataclass
class Service:
    """A server process of ours (gunicorn or a Celery worker), its output in a log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self.log_path = VAR / f"{self.name}.log"

    def start(self) -> Service:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                self.command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # gunicorn and Celery shut down warm
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def gunicorn(env: dict[str, str]) -> Service:
    command = [str(VENV_BIN / "gunicorn"), "config.wsgi", "-c", "gunicorn.conf.py"]
    return Service("gunicorn", command, env)


def celery_worker(env: dict[str, str], *, concurrency: int = 1) -> Service:
    command = [str(VENV_BIN / "celery"), "-A", "config", "worker", "-l", "WARNING"]
    command += ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle"]
    return Service("celery", command, env)


def http_get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 5) -> int:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (http only)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_healthy(base_url: str, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http_get(f"{base_url}/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{base_url}/healthz did not answer 200 within {timeout:.0f} s")


def wrk(
    script: str, url: str, *, threads: int, connections: int, seconds: int, env: dict[str, str]
) -> dict[str, Any]:
    """One wrk run; the Lua script's ``done()`` prints a JSON line with the results."""
    command = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / script),
        url,
    ]
    done = run(command, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1])


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.Error, OSError):
        return ""


@dataclass(frozen=True)
class _Spent:
    seconds: float  # user + system, plus children that exited and were reaped
    cmdline: str
    ppid: int


def _cpu_seconds() -> dict[int, _Spent]:
    """CPU seconds per live process, including its reaped children (gunicorn's recycled
    workers count in the master, wrk in this process)."""
    found = {}
    for proc in psutil.process_iter():
        try:
            t = proc.cpu_times()
            spent = t.user + t.system + t.children_user + t.children_system
            found[proc.pid] = _Spent(spent, _cmdline(proc), proc.ppid())
        except (psutil.Error, OSError):
            continue
    return found


def _deltas(before: dict[int, _Spent], after: dict[int, _Spent]) -> dict[int, float]:
    """CPU spent in the window by each process alive at its end (all of it for those
    started since). A child that was alive at the start and reaped since shows up in its
    parent's children times with its whole life: its CPU before the window is taken off
    the parent again."""
    deltas = {
        pid: a.seconds - (before[pid].seconds if pid in before else 0.0)  # else: born since
        for pid, a in after.items()
    }
    for pid, gone in before.items():
        if pid not in after and gone.ppid in deltas and gone.ppid in before:
            deltas[gone.ppid] -= gone.seconds
    return deltas


@dataclass
class CpuShares:
    """Shares of all CPUs spent while a run went on: ``bench`` (this process tree and the
    PostgreSQL backends of its database), ``postgres_other`` (PostgreSQL's background
    processes, exited backends and other databases' backends), ``others`` (the rest of
    the box: other people's work) and ``busy`` (all of them, from /proc/stat)."""

    database: str
    before: dict[int, _Spent] = field(default_factory=dict)
    started: float = 0.0
    jiffies: tuple[int, int] = (0, 0)

    def start(self) -> None:
        self.before = _cpu_seconds()
        self.jiffies = cpu_times()
        self.started = time.monotonic()

    def _bucket(self, pid: int, cmdline: str, ours: set[int]) -> str:
        if pid in ours or f" {self.database} " in cmdline:
            return "bench"
        if cmdline.startswith("postgres"):
            return "postgres_other"
        return "others"

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self.started
        after = _cpu_seconds()
        me = psutil.Process()
        ours = {me.pid} | {child.pid for child in me.children(recursive=True)}
        spent = {"bench": 0.0, "postgres_other": 0.0, "others": 0.0}
        for pid, seconds in _deltas(self.before, after).items():
            spent[self._bucket(pid, after[pid].cmdline, ours)] += max(0.0, seconds)
        capacity = wall * (os.cpu_count() or 1)
        shares = {f"cpu_{k}_share": round(v / capacity, 3) for k, v in spent.items()}
        return {**shares, "cpu_busy": busy_between(self.jiffies, cpu_times())}


def web_tools() -> dict[str, str]:
    """The versions of the tools the web benches drive the load with."""
    wrk_version = run([WRK, "-v"], check=False).stdout
    return {"psycopg": version("psycopg"), "wrk": wrk_version.split("\n", 1)[0].strip()}


def environment(
    database: str, args: dict[str, Any], *, tools: dict[str, str] | None = None
) -> dict[str, Any]:
    """The machine, the software and the arguments of a run; ``tools`` are the versions of
    what this bench drives (default: the web benches' psycopg and wrk)."""
    from bench.ledger_db import server_facts

    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    commit = run([GIT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit,
        "nproc": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "mem_total": meminfo["MemTotal"].strip(),
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        **(web_tools() if tools is None else tools),
        "database": database,
        "postgres": server_facts(),
        "args": args,
    }
