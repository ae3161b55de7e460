"""When Redis is unreachable the cache degrades (misses, dropped writes) instead of
turning every API request into a server error. A real refused connection, no mock."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

DEAD = {
    "default": {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@override_settings(CACHES=DEAD)
def test_a_dead_cache_misses_and_drops_writes() -> None:
    cache = caches["default"]

    assert cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is False
    assert cache.add("k", 1) is False
    assert cache.incr("counter") == 1
    assert cache.get_many(["a", "b"]) == {}


@override_settings(CACHES=DEAD)
def test_the_api_keeps_answering_without_redis() -> None:
    member = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='shop')[1]}")

    response = client.get(f"/api/v1/members/{member.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == member.pk
