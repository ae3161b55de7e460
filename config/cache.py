"""A Redis cache that degrades instead of failing: if Redis is unreachable or does not answer
within its socket timeout, reads miss and writes are dropped (with a warning), so API keys
are looked up in the database and rate limits are not enforced for the moment, rather than
every request failing with 500 or hanging. After a failure the process skips Redis for
``REDIS_RETRY_AFTER`` seconds (config/breaker.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.breaker import redis_failed, redis_skipped

log = logging.getLogger("vafa.cache")
DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


def _degrade(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            url = _url(self)
            if redis_skipped(url=url):
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except DOWN as error:
                redis_failed(url=url)
                log.warning(
                    "cache unavailable (%s): %s degraded", type(error).__name__, method.__name__
                )
                return fallback(*args, **kwargs)

        return call

    return wrap


def _url(cache: RedisCache) -> str:
    return ",".join(cache._servers)


def _missing(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _no(*args: Any, **kwargs: Any) -> bool:
    return False


def _empty(*args: Any, **kwargs: Any) -> dict:
    return {}


def _counter_lost(key: Any, delta: int = 1, *args: Any, **kwargs: Any) -> int:
    return delta


class ResilientRedisCache(RedisCache):
    get = _degrade(_missing)(RedisCache.get)
    set = _degrade(_no)(RedisCache.set)
    add = _degrade(_no)(RedisCache.add)
    delete = _degrade(_no)(RedisCache.delete)
    touch = _degrade(_no)(RedisCache.touch)
    incr = _degrade(_counter_lost)(RedisCache.incr)
    get_many = _degrade(_empty)(RedisCache.get_many)
    set_many = _degrade(lambda *a, **k: [])(RedisCache.set_many)
    has_key = _degrade(_no)(RedisCache.has_key)


def counter_hit(key: str, seconds: int) -> int:
    """Add one to a counter that lives ``seconds`` from its first hit; return the new count.

    On Redis this is one round trip (INCR and EXPIRE NX in a pipeline), whatever the count;
    elsewhere ``add`` then ``incr``. If Redis is down the hit is not counted (returns 1): a
    rate limit is not worth failing the request for."""
    from django.core.cache import cache

    backend = getattr(cache, "_cache", None)
    if isinstance(cache, RedisCache) and backend is not None:
        if redis_skipped(url=_url(cache)):
            return 1
        name = cache.make_and_validate_key(key)
        try:
            pipe = backend.get_client(name, write=True).pipeline(transaction=False)
            pipe.incr(name)
            pipe.expire(name, seconds, nx=True)
            return int(pipe.execute()[0])
        except DOWN as error:
            redis_failed(url=_url(cache))
            log.warning("cache unavailable (%s): counter not counted", type(error).__name__)
            return 1
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, seconds)
        return 1
