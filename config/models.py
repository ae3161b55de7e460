"""The task outbox, and permission-only models of the back office (no tables)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Analytics(models.Model):
    """Holds the ``config.view_analytics`` permission of the staff analytics page."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_analytics", _("Can view the analytics page"))]
        verbose_name = _("analytics")
        verbose_name_plural = _("analytics")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class QueuedTask(models.Model):
    """A Celery task to publish, written in the same transaction as the work it belongs to
    and deleted once the broker took it; a row left behind (the broker was down or hung)
    is published by the ``outbox_drain`` job (config/outbox.py)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()  # outbox_drain publishes it from then on
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="config_queuedtask_due_idx")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
