"""Sending an email once: claim its log row, send, confirm (see ``loyalty.models.emails``).

``token`` is the Celery task id of the sender. A task delivered again after its worker
died carries the same id and takes its own claim over at once; any other sender waits
for ``EMAIL_CLAIM_LEASE``. A send that fails with an exception gives its claim back so
that the task's retry sends it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from accounts.emails import email_send
from accounts.models import User
from loyalty.models import SendLogQuerySet, SentEmail


def email_claim(*, rows: SendLogQuerySet, pk: int, token: str = "") -> bool:
    """Take row ``pk`` if it is unsent and nobody else holds it."""
    now = timezone.now()
    claimable = rows.filter(pk=pk).claimable(now=now, token=token)
    return claimable.update(claimed_at=now, claimed_by=token) == 1


def email_release(*, rows: SendLogQuerySet, pk: int, token: str = "") -> None:
    rows.filter(pk=pk, sent_at__isnull=True, claimed_by=token).update(
        claimed_at=None, claimed_by=""
    )


def email_confirm(*, rows: SendLogQuerySet, pk: int) -> None:
    rows.filter(pk=pk).update(sent_at=timezone.now())


def email_once(
    *, rows: SendLogQuerySet, pk: int, send: Callable[[], object], token: str = ""
) -> bool:
    """Run ``send`` for row ``pk`` unless it was sent or is held; ``True`` if this call
    did (a sender that decides to send nothing still settles the row)."""
    if not email_claim(rows=rows, pk=pk, token=token):
        return False
    try:
        send()
    except Exception:
        email_release(rows=rows, pk=pk, token=token)  # the task's retry sends it
        raise
    email_confirm(rows=rows, pk=pk)
    return True


def sent_email_once(
    *, recipient: User, template: str, key: str | int, send: Callable[[], object], token: str = ""
) -> bool:
    """Run ``send`` at most once per template, object ``key`` and recipient."""
    row, _ = SentEmail.objects.get_or_create(template=template, key=str(key), recipient=recipient)
    return email_once(rows=SentEmail.objects.all(), pk=row.pk, send=send, token=token)


def email_send_once(
    *,
    user: User,
    template: str,
    key: str | int,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
    token: str = "",
) -> bool:
    """``email_send`` at most once per template, object ``key`` and recipient."""
    return sent_email_once(
        recipient=user,
        template=template,
        key=key,
        token=token,
        send=lambda: email_send(user=user, template=template, context=context, headers=headers),
    )
