"""A sliding-window limit that costs one cache round trip to check and one per hit.

Each limited thing keeps two fixed buckets of the window's length: the current one and
the one before it. The count over the last window is estimated as

    previous × (share of the window not yet elapsed in the current bucket) + current

which assumes the previous bucket's hits were spread evenly over it (Cloudflare's
approximation). Unlike a fixed window it never resets at once: a client that used its whole
allowance gets it back gradually, never twice the limit across a bucket's edge."""

from __future__ import annotations

import math
import time

from django.core.cache import cache

from config.cache import counter_hit


def _bucket(key: str, index: int) -> str:
    return f"{key}:{index}"


def _wait(previous: int, current: int, elapsed: float, seconds: int, limit: int) -> int:
    """Whole seconds until the estimate is below ``limit`` again (0: it is now)."""
    if previous * (1 - elapsed / seconds) + current < limit:
        return 0
    if current >= limit:  # the rest of this bucket, then until this bucket's weight decays
        due = seconds - elapsed + seconds * (1 - limit / current)
    else:
        due = seconds * (1 - (limit - current) / previous) - elapsed
    return math.floor(due) + 1


def sliding_wait(*, limits: dict[str, int], seconds: int) -> int:
    """Seconds until every key is below its limit over the last ``seconds``; 0 if all are."""
    index, elapsed = divmod(time.time(), seconds)
    pairs = {key: (_bucket(key, int(index) - 1), _bucket(key, int(index))) for key in limits}
    counts = cache.get_many([name for pair in pairs.values() for name in pair])
    return max(
        _wait(counts.get(old, 0), counts.get(new, 0), elapsed, seconds, limits[key])
        for key, (old, new) in pairs.items()
    )


def sliding_hit(*, keys: list[str], seconds: int) -> None:
    """Count one hit for each key in the current bucket (kept for two windows)."""
    index = int(time.time() // seconds)
    for key in keys:
        counter_hit(_bucket(key, index), 2 * seconds + 1)
