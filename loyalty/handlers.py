"""Signal glue only: a confirmed email earns the sign-up rule's points (a task that calls
the earning engine; idempotent by the member), and edits to rules, campaigns or tiers drop
the engine's cached program snapshot."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_confirmed
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from config.outbox import task_enqueue
from loyalty.models import Campaign, EarningRule, Tier
from loyalty.services.program import program_changed
from loyalty.tasks import signup_bonus_task


@receiver(email_confirmed, dispatch_uid="loyalty.signup_bonus")
def on_email_confirmed(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    user_id = email_address.user_id
    task_enqueue(task=signup_bonus_task, args=[user_id])


for model in (EarningRule, Campaign, Tier, Campaign.tiers.through):
    post_save.connect(program_changed, sender=model, dispatch_uid=f"program:{model.__name__}:save")
    post_delete.connect(program_changed, sender=model, dispatch_uid=f"program:{model.__name__}:del")
m2m_changed.connect(program_changed, sender=Campaign.tiers.through, dispatch_uid="program:tiers")
