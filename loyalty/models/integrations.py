"""Shops and integrations: API keys and the events they report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models.earning import EarningRule, EventType, money_field


class ApiKey(models.Model):
    """A shop's key. Only a SHA-256 hash is stored; the key is shown once, at creation."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # DRF treats ``request.user`` as authenticated when this is true.
    is_authenticated = True


class Event(models.Model):
    """An event a shop reported, with the answer it got: a replay with the same key and
    body returns that answer again; the same key with another body is refused."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    type = models.CharField(_("type"), max_length=24, choices=EventType.choices)
    account = models.ForeignKey("loyalty.Account", on_delete=models.PROTECT, related_name="events")
    rule = models.ForeignKey(
        EarningRule, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    amount = money_field(_("amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    order_id = models.CharField(_("order id"), max_length=100, blank=True)
    refund_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    refunded_amount = money_field(_("refunded so far"), default=0, db_default=0)
    occurred_at = models.DateTimeField(_("occurred at"))
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    points_awarded = models.BigIntegerField(_("points"), default=0, db_default=0)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    response = models.JSONField(_("response"), default=dict)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        permissions = [("import_events", _("Can import purchases from a CSV file"))]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="event_idempotency_key_unique"
            ),
            models.UniqueConstraint(
                fields=["order_id"],
                condition=Q(type="purchase") & ~Q(order_id=""),
                name="event_purchase_order_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="event_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(refunded_amount__lte=models.F("amount")),
                name="event_refund_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "rule", "occurred_at"], name="event_member_rule_idx"),
            models.Index(fields=["type", "occurred_at"], name="event_type_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.order_id or self.idempotency_key}"


class ApiReplay(models.Model):
    """The first answer a keyed request got after validation — a redemption, or a refusal
    such as not enough points: a retry with the same key gets that same answer."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    scope = models.CharField(_("scope"), max_length=50)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    body = models.JSONField(_("body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refused request")
        verbose_name_plural = _("refused requests")

    def __str__(self) -> str:
        return f"{self.scope} {self.idempotency_key} → {self.status_code}"
