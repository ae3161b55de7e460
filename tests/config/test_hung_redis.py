"""A hung Redis (its process stopped with SIGSTOP: connections are accepted, nothing is ever
answered) must not hang requests. Each test starts a private redis-server on a free port,
points the cache, the sessions and the Celery broker at it, stops it, and measures real
requests. A watchdog resumes the server after WATCHDOG seconds so that code without
timeouts fails the time bound instead of hanging the suite."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from celery import Celery
from celery._state import get_current_app
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from config.models import QueuedTask
from config.outbox import outbox_drain
from loyalty.models import Event
from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import points_credit
from tests.loyalty.factories import AccountFactory, EarningRuleFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary"),
]

WATCHDOG = 6.0
PAGE_BOUND = 1.5
WRITE_BOUND = 2.0
EMAIL_TASK = "loyalty.tasks.points_earned_email_task"


@dataclass
class PrivateRedis:
    process: subprocess.Popen
    port: int

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int) -> None:
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    pytest.fail(f"private redis-server on port {port} did not start")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    port = _free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no"]
    # The server runs on the real clock: the suite's run with libfaketime preloaded
    # (.ci/run) must not hand the preload to redis-server, which then never answers.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)  # noqa: S603
    server = PrivateRedis(process=process, port=port)
    watchdog = threading.Timer(WATCHDOG, server.resume)
    try:
        _wait_until_up(port)
        watchdog.start()
        yield server
    finally:
        watchdog.cancel()
        server.resume()
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def redis_cache(private_redis: PrivateRedis, settings) -> None:
    """The project's cache settings (timeouts included), on the private server."""
    settings.CACHES = {
        "default": {**django_settings.CACHES["default"], "LOCATION": private_redis.url(1)}
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


@pytest.fixture
def broker(private_redis: PrivateRedis, redis_cache) -> Iterator[Celery]:
    """A Celery app configured from settings like the project's, publishing for real (not
    eagerly) to the private server; tasks resolve to it while the test runs."""
    previous = get_current_app()
    app = Celery("vafa-hung-redis")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = private_redis.url(0)
    app.conf.task_always_eager = False
    app.set_current()
    try:
        yield app
    finally:
        previous.set_current()


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_member_pages_answer_quickly_while_redis_is_hung(private_redis, redis_cache) -> None:
    # given a signed-in member with 1,234 points, whose session is in the Redis cache
    member = AccountFactory().member
    points_credit(account=member.loyalty_account, points=1234, kind="earn", idempotency_key="given")
    client = APIClient()
    client.force_login(member)
    assert client.get("/me/").status_code == 200

    # when Redis hangs
    private_redis.pause()
    answers = [_timed(lambda: client.get("/me/")) for _ in range(3)]

    # then every page answers correctly and within the bound
    for response, seconds in answers:
        assert response.status_code == 200
        assert re.search(r'data-testid="balance">\s*1,234\s*<', response.content.decode())
        assert seconds < PAGE_BOUND, f"/me/ took {seconds:.2f} s with Redis hung"


def test_a_purchase_commits_while_redis_is_hung_and_its_email_is_sent_once_after(
    private_redis, broker, settings
) -> None:
    # given a member who wants an email for every purchase, and an API key
    settings.RETURN_WINDOW_DAYS = 14
    settings.REDIS_RETRY_AFTER = 0.5
    settings.TASK_OUTBOX_DELAY = 0
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    member = AccountFactory().member
    User.objects.filter(pk=member.pk).update(email_points_earned=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='shop')[1]}")
    body = {
        "idempotency_key": "evt-hung",
        "type": "purchase",
        "member_id": member.pk,
        "amount": "42.50",
        "currency": "EUR",
        "order_id": "order-hung",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }

    # when the shop reports a purchase while Redis hangs
    private_redis.pause()
    response, seconds = _timed(lambda: api.post("/api/v1/events/", body, format="json"))

    # then the purchase is committed within the bound, and its email waits in the outbox
    assert response.status_code == 201
    assert seconds < WRITE_BOUND, f"the purchase took {seconds:.2f} s with Redis hung"
    event = Event.objects.get(idempotency_key__endswith="evt-hung")
    assert list(QueuedTask.objects.values_list("task", "args")) == [(EMAIL_TASK, [event.pk])]

    # when Redis is back and the drain job runs, twice, with a worker consuming
    private_redis.resume()
    time.sleep(settings.REDIS_RETRY_AFTER)
    drained = [outbox_drain(), outbox_drain()]
    with start_worker(broker, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        _wait_for(lambda: len(mail.outbox) >= 1)

    # then the email went out exactly once and the outbox is empty
    assert drained == [1, 0]
    assert [m.subject.partition(",")[0] for m in mail.outbox] == ["42 points on their way"]
    assert QueuedTask.objects.count() == 0


def _wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {seconds} s")
        time.sleep(0.05)


def test_healthz_keeps_the_node_in_service_while_redis_is_hung(private_redis, broker) -> None:
    # given the broker on the private Redis, which answers
    client = APIClient()
    assert client.get("/healthz").json()["status"] == "ok"

    # when it hangs
    private_redis.pause()
    response, seconds = _timed(lambda: client.get("/healthz"))

    # then the node says it is degraded, quickly, without leaving the load balancer
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert seconds < PAGE_BOUND, f"/healthz took {seconds:.2f} s with Redis hung"
