"""gunicorn settings for production: ``gunicorn config.wsgi -c gunicorn.conf.py``.

Every value can be set from the environment. The access log is written by Vafa itself
(JSON, with secrets redacted), so gunicorn's own access log is off."""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Sync workers by default: the request path is short and CPU-bound, and threads cost more
# than they save (measured on 2 cores, events API, 2 workers: 375/s sync vs 305/s with 2
# threads). Threads help when requests wait on slow outside calls; set GUNICORN_THREADS.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycling workers guards against slow leaks; too often, and restarts show up as latency
# spikes under load (measured: every 12-20 s at 2,000 requests).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = 5000
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Not preloaded: `systemctl reload` (SIGHUP) then starts workers on the new code.
preload_app = False
