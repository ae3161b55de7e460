"""API keys for shops: created once (the raw key is shown a single time), stored as a
SHA-256 hash with a visible prefix, revocable, with a last-used time."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from loyalty.models import ApiKey

CACHE_SECONDS = 60
TOUCH_EVERY = timedelta(seconds=60)


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, created_by: AbstractBaseUser | None = None) -> tuple[ApiKey, str]:
    """Create a key; return it with the raw secret, which is never stored."""
    prefix = secrets.token_hex(4)
    raw = f"vafa_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name, prefix=prefix, key_hash=key_hash(raw), created_by=created_by
    )
    return api_key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    cache.delete(f"apikey:{api_key.key_hash}")
    _local.pop(api_key.key_hash, None)


# Per process, a key is remembered for a few seconds: a busy shop's requests then touch
# neither Redis nor the database to authenticate. A revoked key stops working in this
# process at once and in the others within LOCAL_SECONDS.
LOCAL_SECONDS = 5.0
_local: dict[str, tuple[float, ApiKey | bool]] = {}


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or ``None``. Looked up by hash, cached briefly."""
    digest = key_hash(raw)
    held = _local.get(digest)
    if held and time.monotonic() - held[0] < LOCAL_SECONDS:
        return held[1] or None
    cached = cache.get(f"apikey:{digest}")
    if cached is None:
        found = ApiKey.objects.filter(key_hash=digest, revoked_at__isnull=True).first()
        cached = found or False
        cache.set(f"apikey:{digest}", cached, CACHE_SECONDS)
    _local[digest] = (time.monotonic(), cached)
    if not cached:
        return None
    _touch(cached)
    return cached


def _touch(api_key: ApiKey) -> None:
    """Record use at most once a minute per key (no write on every request)."""
    if cache.add(f"apikey-used:{api_key.pk}", 1, int(TOUCH_EVERY.total_seconds())):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
