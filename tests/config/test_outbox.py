"""The task outbox: a task is queued with the transaction that asked for it, published after
commit, and kept for the drain job when the broker cannot take it. The broker that refuses
here is a real Redis URL nobody listens on (port 1); the hung broker is in
tests/config/test_hung_redis.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery import Celery
from celery._state import get_current_app
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.tasks import welcome_email_task
from config.models import QueuedTask
from config.outbox import outbox_drain, task_enqueue
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WELCOME = "accounts.tasks.welcome_email_task"


@pytest.fixture
def dead_broker() -> Iterator[Celery]:
    """Tasks resolve to an app whose broker refuses connections."""
    previous = get_current_app()
    app = Celery("vafa-dead-broker")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.broker_transport_options = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}
    app.conf.task_always_eager = False
    app.set_current()
    try:
        yield app
    finally:
        previous.set_current()


def test_a_rolled_back_transaction_queues_nothing() -> None:
    member = UserFactory()

    def queue_then_fail() -> None:
        with transaction.atomic():
            task_enqueue(task=welcome_email_task, args=[member.pk])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        queue_then_fail()

    assert QueuedTask.objects.count() == 0
    assert mail.outbox == []


def test_a_committed_task_runs_once_and_leaves_no_row() -> None:
    member = UserFactory(first_name="Sara")

    with transaction.atomic():
        task_enqueue(task=welcome_email_task, args=[member.pk])
        assert QueuedTask.objects.filter(task=WELCOME).count() == 1

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert QueuedTask.objects.count() == 0


def test_a_refused_publish_keeps_the_task_for_the_drain(dead_broker, settings) -> None:
    # given a broker that refuses connections
    settings.REDIS_RETRY_AFTER = 0
    member = UserFactory()

    # when a transaction queues a task
    with transaction.atomic():
        User.objects.filter(pk=member.pk).update(first_name="Sara")
        task_enqueue(task=welcome_email_task, args=[member.pk])

    # then the work is committed and the task waits in the outbox, not yet due
    assert User.objects.get(pk=member.pk).first_name == "Sara"
    row = QueuedTask.objects.get()
    assert (row.task, row.args, row.attempts) == (WELCOME, [member.pk], 0)
    assert row.due_at > timezone.now() + timedelta(seconds=settings.TASK_OUTBOX_DELAY - 5)
    assert outbox_drain() == 0  # not due yet

    # when it is due but the broker still refuses
    QueuedTask.objects.update(due_at=timezone.now())
    drained = outbox_drain()

    # then nothing was published and the row waits for the next run
    assert drained == 0
    row = QueuedTask.objects.get()
    assert row.attempts == 1
    assert row.due_at > timezone.now()
    assert mail.outbox == []


def test_the_drain_publishes_a_due_task_once() -> None:
    member = UserFactory()
    QueuedTask.objects.create(task=WELCOME, args=[member.pk], due_at=timezone.now())

    drained = [outbox_drain(), outbox_drain()]

    assert drained == [1, 0]
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert QueuedTask.objects.count() == 0


def test_a_row_naming_an_unknown_task_does_not_block_the_others() -> None:
    member = UserFactory()
    now = timezone.now()
    QueuedTask.objects.create(task="vanished.task", args=[1], due_at=now - timedelta(seconds=1))
    QueuedTask.objects.create(task=WELCOME, args=[member.pk], due_at=now)

    drained = outbox_drain()

    assert drained == 1
    assert list(QueuedTask.objects.values_list("task", "attempts")) == [("vanished.task", 1)]
    assert [m.to for m in mail.outbox] == [[member.email]]
