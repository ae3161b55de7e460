"""Signal glue only: what the friend did is handed to a Celery task that qualifies the
referral, or reverses it when the qualifying purchase is refunded (idempotent; runs after
the triggering transaction committed)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from allauth.account.signals import email_confirmed, user_signed_up
from django.dispatch import receiver
from django.http import HttpRequest

from config.outbox import task_enqueue
from loyalty.models import EventType
from loyalty.signals import event_recorded, events_imported
from referrals.attribution import referral_signup_from_request
from referrals.selectors import (
    referral_purchase_qualified,
    referral_waiting,
    referrals_waiting_among,
)
from referrals.tasks import referral_qualify_task, referral_refund_task


@receiver(event_recorded, dispatch_uid="referrals.purchase")
def on_event(
    sender: Any,
    *,
    event_id: int,
    member_id: int,
    type: str,
    amount: Decimal | None,
    occurred_at: datetime,
    **kwargs: Any,
) -> None:
    if type == EventType.PURCHASE and referral_waiting(referee_id=member_id):
        at = occurred_at.isoformat()
        task_enqueue(
            task=referral_qualify_task, args=[member_id, "purchase", str(amount), at, event_id]
        )
    elif type == EventType.REFUND and referral_purchase_qualified(referee_id=member_id):
        task_enqueue(task=referral_refund_task, args=[event_id])


@receiver(events_imported, dispatch_uid="referrals.imported")
def on_events_imported(sender: Any, *, events: list[dict[str, Any]], **kwargs: Any) -> None:
    purchases = [e for e in events if e["type"] == EventType.PURCHASE]
    waiting = referrals_waiting_among(referee_ids={e["member_id"] for e in purchases})
    for event in purchases:
        if event["member_id"] in waiting:
            amount, at = str(event["amount"]), event["occurred_at"].isoformat()
            task_enqueue(
                task=referral_qualify_task,
                args=[event["member_id"], "purchase", amount, at, event["event_id"]],
            )


@receiver(email_confirmed, dispatch_uid="referrals.email_confirmed")
def on_email_confirmed(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    user_id = email_address.user_id
    task_enqueue(task=referral_qualify_task, args=[user_id, "email_verified"])


@receiver(user_signed_up, dispatch_uid="referrals.signed_up")
def on_signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    referral_signup_from_request(request=request, referee=user)
