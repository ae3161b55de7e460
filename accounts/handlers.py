"""Signal glue only: each receiver hands over to a service."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_confirmed
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.net import request_ip_hash
from accounts.services import login_trace_record
from accounts.tasks import welcome_email_task
from config.outbox import task_enqueue


@receiver(user_logged_in, dispatch_uid="accounts.login_trace")
def on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None:
        login_trace_record(user=user, ip_hash=request_ip_hash(request))


@receiver(email_confirmed, dispatch_uid="accounts.welcome")
def on_email_confirmed(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    user_id = email_address.user_id
    task_enqueue(task=welcome_email_task, args=[user_id])
