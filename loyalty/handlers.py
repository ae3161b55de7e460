"""Signal glue only: a confirmed email earns the sign-up rule's points (a task that calls
the earning engine; idempotent by the member)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_confirmed
from django.db import transaction
from django.dispatch import receiver

from loyalty.tasks import signup_bonus_task


@receiver(email_confirmed, dispatch_uid="loyalty.signup_bonus")
def on_email_confirmed(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    user_id = email_address.user_id
    transaction.on_commit(lambda: signup_bonus_task.delay(user_id))
