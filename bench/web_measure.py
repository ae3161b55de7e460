"""Timed wrk runs against a running gunicorn, shared by the events API and portal
benchmarks: wait for idle CPUs, run wrk, attach the server-side request times (from the
access log) and who used the CPUs, and summarise repeats by their medians."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import wait_quiet
from bench.web_run import WRK_DIR, CpuShares, wrk

PERCENTILES = ("p50", "p95", "p99")


@dataclass(frozen=True)
class WrkPlan:
    script: str
    url: str
    threads: int
    connections: int
    seconds: int
    env: dict[str, str]


def access_log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def server_times(path: Path, offset: int, *, method: str, prefix: str) -> dict[str, Any]:
    """Percentiles of ``duration_ms`` in the JSON access log lines written after
    ``offset``: the time Django spent on a request, without queueing in front of it."""
    with path.open("rb") as stream:
        stream.seek(offset)
        lines = stream.read().decode(errors="replace").splitlines()
    times = []
    for line in lines:
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("method") == method and str(record.get("path", "")).startswith(prefix):
            times.append(record["duration_ms"])
    if len(times) < 2:
        return {"count": len(times)}
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"count": len(times), "mean": statistics.fmean(times), **_cut(cuts)}


def _cut(cuts: list[float]) -> dict[str, float]:
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def wrk_measured(
    plan: WrkPlan, *, quiet_wait: float, database: str, log_path: Path, method: str, prefix: str
) -> dict[str, Any]:
    """One timed wrk run with its context."""
    waited = wait_quiet(quiet_wait)
    offset = access_log_size(log_path)
    shares = CpuShares(database)
    shares.start()
    env = {"VAFA_WRK_DIR": str(WRK_DIR), **plan.env}
    result = wrk(
        plan.script,
        plan.url,
        threads=plan.threads,
        connections=plan.connections,
        seconds=plan.seconds,
        env=env,
    )
    result["server_ms"] = server_times(log_path, offset, method=method, prefix=prefix)
    return {**result, **shares.stop(), "waited_s": waited}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median throughput, client latencies and server times over repeats."""
    if not runs:
        return {}
    server = [r["server_ms"] for r in runs if "p50" in r["server_ms"]]
    return {
        "repeats": len(runs),
        "rps": statistics.median(r["rps"] for r in runs),
        "rps_all": [round(r["rps"], 1) for r in runs],
        **{f"{p}_ms": statistics.median(r["latency_ms"][p] for r in runs) for p in PERCENTILES},
        "p99_ms_all": [round(r["latency_ms"]["p99"], 1) for r in runs],
        **{
            f"server_{p}_ms": statistics.median(s[p] for s in server) if server else None
            for p in PERCENTILES
        },
        "errors": sum(sum(r["errors"].values()) for r in runs),
        "cpu_others_share_max": max(r["cpu_others_share"] for r in runs),
    }
