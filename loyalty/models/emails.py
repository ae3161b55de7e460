"""Send logs of member emails: one row per email that must go out once.

A sender *claims* its row (``claimed_at``, ``claimed_by``: the Celery task id) before it
sends and *confirms* it (``sent_at``) after. A claim that was never confirmed belongs to a
sender that died between the two steps: the same task delivered again may take it over at
once, anybody else once ``EMAIL_CLAIM_LEASE`` has passed; the scheduled jobs re-queue such
rows. A second run of a task finds its row confirmed and sends nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Longer than any send may take: email tasks are killed after 5 minutes
# (accounts.tasks.EMAIL_TASK_TIME_LIMIT).
EMAIL_CLAIM_LEASE = timedelta(minutes=15)
# An unclaimed row queued this long ago and still unsent was lost (a crash between commit
# and enqueue, a purged queue): queue it again. Fresh ones are queued by their creator.
EMAIL_QUEUE_STALE = timedelta(hours=1)


class SendLogQuerySet(models.QuerySet):
    def claimable(self, *, now: datetime, token: str = "") -> SendLogQuerySet:
        """Unsent rows nobody holds: never claimed, claim lapsed, or claimed by ``token``."""
        free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - EMAIL_CLAIM_LEASE)
        if token:
            free |= Q(claimed_by=token)
        return self.filter(free, sent_at__isnull=True)

    def to_queue(self, *, run_started: datetime, now: datetime) -> SendLogQuerySet:
        """Unsent rows a job run should enqueue: the unclaimed ones it created or that were
        lost (older than ``EMAIL_QUEUE_STALE``), and claims whose sender died (lease over)."""
        unclaimed = Q(claimed_at__isnull=True) & (
            Q(created_at__gte=run_started) | Q(created_at__lt=run_started - EMAIL_QUEUE_STALE)
        )
        lapsed = Q(claimed_at__lt=now - EMAIL_CLAIM_LEASE)
        return self.filter(unclaimed | lapsed, sent_at__isnull=True)


class SendLog(models.Model):
    """Claim and confirmation of one email (abstract)."""

    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by task"), max_length=255, blank=True, default="")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = SendLogQuerySet.as_manager()

    class Meta:
        abstract = True


class SentEmail(SendLog):
    """A transactional email sent once per template, object and recipient (tier change,
    birthday, points earned, redemption, welcome, referral rewarded, ...)."""

    template = models.CharField(_("template"), max_length=64)
    key = models.CharField(_("object"), max_length=64)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
    )

    class Meta:
        verbose_name = _("sent email")
        verbose_name_plural = _("sent emails")
        constraints = [
            models.UniqueConstraint(fields=["template", "key", "recipient"], name="sent_email_once")
        ]
        indexes = [
            models.Index(
                fields=["template", "id"],
                condition=Q(sent_at__isnull=True),
                name="sent_email_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.template}:{self.key} → {self.recipient_id}"
