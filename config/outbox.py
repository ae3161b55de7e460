"""Tasks survive a broker that is down or hung.

``task_enqueue`` writes a ``QueuedTask`` row in the caller's transaction and publishes the
task after commit, with the short Redis timeouts and the bounded publish retry of settings;
once the broker took it the row is deleted. If the publish fails or times out the row stays
(the request still succeeds) and ``outbox_drain``, a job run every minute, publishes it once
it is ``TASK_OUTBOX_DELAY`` seconds old. A rolled-back transaction leaves no row and
publishes nothing. Tasks are idempotent, so a task published twice (a process that died
between publish and delete) changes nothing the second time."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.breaker import redis_failed, redis_skipped
from config.models import QueuedTask

log = logging.getLogger("vafa.outbox")
PUBLISH_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)
DRAIN_BATCH = 1000


def task_enqueue(*, task: Task, args: list[Any]) -> None:
    """Queue ``task(*args)`` to run after the current transaction commits (now, outside
    one); ``args`` must be JSON values (ids, strings)."""
    row = QueuedTask.objects.create(task=task.name, args=args, due_at=_due())
    transaction.on_commit(partial(_publish_row, pk=row.pk, task=task, args=args))


def outbox_drain(*, limit: int = DRAIN_BATCH) -> int:
    """Publish the tasks whose publish after commit failed; return how many went out.
    Stops at the first failure (the broker is still away: the next run tries again)."""
    due = QueuedTask.objects.filter(due_at__lte=timezone.now()).order_by("due_at", "pk")
    published = 0
    for pk, name, args, due_at in due.values_list("pk", "task", "args", "due_at")[:limit]:
        if not _claim(pk=pk, due_at=due_at):
            continue  # another drain has it
        if (task := current_app.tasks.get(name)) is None:
            log.error("outbox row %s names an unknown task %s: left in place", pk, name)
            continue
        if not _publish_row(pk=pk, task=task, args=args):
            break
        published += 1
    return published


def _due() -> Any:
    return timezone.now() + timedelta(seconds=settings.TASK_OUTBOX_DELAY)


def _claim(*, pk: int, due_at: Any) -> bool:
    """Push the row's due time on, unless someone else did it first."""
    claimed = QueuedTask.objects.filter(pk=pk, due_at=due_at)
    return claimed.update(due_at=_due(), attempts=F("attempts") + 1) == 1


def _publish_row(*, pk: int, task: Task, args: list[Any]) -> bool:
    if not _publish(task=task, args=args):
        return False
    QueuedTask.objects.filter(pk=pk).delete()
    return True


def _publish(*, task: Task, args: list[Any]) -> bool:
    if task.app.conf.task_always_eager:
        task.apply_async(args=args)  # runs here: its own errors are not the broker's
        return True
    url = str(task.app.conf.broker_url)
    if redis_skipped(url=url):
        return False
    try:
        task.apply_async(args=args)
    except PUBLISH_ERRORS as error:
        redis_failed(url=url)
        log.warning("broker unavailable (%s): %s stays in the outbox", error, task.name)
        return False
    return True
