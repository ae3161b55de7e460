"""Leave a Redis alone for a moment after it failed to answer in time.

A hung Redis (stopped process, full network buffer) accepts connections and then never
answers: each client call waits its whole socket timeout. After one such failure this
process skips that server for ``REDIS_RETRY_AFTER`` seconds, so the requests that follow
degrade at once instead of each paying the timeout again. Per process, keyed by the
server's URL; no shared state (a down Redis could not hold it anyway)."""

from __future__ import annotations

import time

from django.conf import settings

_down_until: dict[str, float] = {}


def redis_skipped(*, url: str) -> bool:
    """True while ``url`` failed less than ``REDIS_RETRY_AFTER`` seconds ago."""
    return time.monotonic() < _down_until.get(url, 0.0)


def redis_failed(*, url: str) -> None:
    _down_until[url] = time.monotonic() + settings.REDIS_RETRY_AFTER
