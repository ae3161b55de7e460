"""The points ledger: accounts, immutable entries, lots with expiry and allocations.

How the books fit together (checked by ``manage.py verify_ledger``):

* An :class:`Entry` moves points. ``points`` is its signed effect on the member's
  *available* balance, ``pending_points`` its signed effect on *pending* points and
  ``qualifying_points`` its effect toward tier qualification. Entries are never changed.
* Every credit opens a :class:`Lot` with its own expiry. A lot is pending until its
  ``available_at`` and is then spendable until ``expires_at``.
* Entries that concern one lot point at it (credit, release, expiry, reversal of a pending
  lot). Debits that take from several lots, and restores that give back to them, record
  an :class:`Allocation` per lot instead.
* Per lot: ``remaining = Σ entries(lot).(points + pending_points) − Σ allocations(lot)``.
* Per account: ``balance = Σ entries.points = Σ remaining of available lots`` and
  ``pending = Σ entries.pending_points = Σ remaining of pending lots``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import TimeStampedModel
from loyalty.models.emails import SendLog


class Account(TimeStampedModel):
    """One per member; caches the sums of the ledger, updated only under a row lock."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="loyalty_account",
        verbose_name=_("member"),
    )
    balance = models.BigIntegerField(_("available points"), default=0, db_default=0)
    pending = models.BigIntegerField(_("pending points"), default=0, db_default=0)
    lifetime_earned = models.BigIntegerField(_("lifetime points earned"), default=0, db_default=0)
    qualifying_points = models.BigIntegerField(_("qualifying points"), default=0, db_default=0)
    tier = models.ForeignKey(
        "loyalty.Tier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("tier"),
    )
    tier_since = models.DateTimeField(_("in this tier since"), null=True, blank=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        permissions = [("adjust_points", _("Can adjust a member's points with a reason"))]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_gte_0"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="account_pending_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.member} ({self.balance})"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    BONUS = "bonus", _("Bonus")
    REFERRAL = "referral", _("Referral reward")
    ADJUST = "adjust", _("Adjustment")
    RELEASE = "release", _("Pending points released")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    REVERSAL = "reversal", _("Reversed")
    RESTORE = "restore", _("Restored")


# Kinds whose credits count as "earned" (lifetime points); reversals take them back.
EARNING_KINDS = (EntryKind.EARN, EntryKind.BONUS, EntryKind.REFERRAL)
DEBIT_KINDS = (EntryKind.REDEEM, EntryKind.ADJUST)


class Entry(models.Model):
    """An immutable movement of points. Corrections are new entries, never edits."""

    # Indexed by entry_account_recent_idx (account first), not by a second FK index.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    points = models.BigIntegerField(_("available points change"), default=0, db_default=0)
    pending_points = models.BigIntegerField(_("pending points change"), default=0, db_default=0)
    qualifying_points = models.BigIntegerField(
        _("qualifying points change"), default=0, db_default=0
    )
    lot = models.ForeignKey(
        "Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    # Recorded on credits (NULL on older rows and on other kinds): verify_ledger checks
    # the lot's expires_at against it, so an edited expiry shows up.
    lot_expires_at = models.DateTimeField(_("lot expiry at credit"), null=True, blank=True)
    # Likewise the lot's available_at: an edited release date of a pending lot shows up.
    lot_available_at = models.DateTimeField(_("lot availability at credit"), null=True, blank=True)
    related_entry = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # entry_related_idx, partial: most entries relate to nothing
        related_name="followups",
        help_text=_("The credit a reversal undoes, or the debit a restore gives back."),
    )
    # Unique by a constraint rather than unique=True: on PostgreSQL the latter also builds
    # a second (LIKE) index on every entry, which nothing here needs.
    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    source = models.CharField(_("source"), max_length=100, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # entry_created_by_idx, partial: staff adjustments only
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            # A restore may give back nothing when it only settles a forgiven reversal.
            models.CheckConstraint(
                condition=~Q(points=0) | ~Q(pending_points=0) | Q(kind="restore"),
                name="entry_moves_points",
            ),
            models.UniqueConstraint(
                fields=["related_entry"],
                condition=Q(kind="restore"),
                name="entry_debit_restored_once",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"], name="entry_idempotency_key_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "-occurred_at", "-id"], name="entry_account_recent_idx"
            ),
            models.Index(fields=["occurred_at"], name="entry_occurred_idx"),
            models.Index(fields=["kind", "occurred_at"], name="entry_kind_occurred_idx"),
            models.Index(
                fields=["related_entry"],
                condition=Q(related_entry__isnull=False),
                name="entry_related_idx",
            ),
            models.Index(
                fields=["created_by"],
                condition=Q(created_by__isnull=False),
                name="entry_created_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}/{self.pending_points:+d} ({self.idempotency_key})"


class LotState(models.TextChoices):
    PENDING = "pending", _("Pending")
    AVAILABLE = "available", _("Available")
    EXPIRED = "expired", _("Expired")
    REVERSED = "reversed", _("Reversed")


class LotQuerySet(models.QuerySet["Lot"]):
    def spendable(self, *, as_of: object) -> LotQuerySet:
        """Available lots with points left that have not reached their expiry, FIFO order."""
        return self.filter(
            state=LotState.AVAILABLE, remaining__gt=0, expires_at__gt=as_of
        ).order_by("expires_at", "id")

    def expirable(self, *, as_of: object) -> LotQuerySet:
        return self.filter(state=LotState.AVAILABLE, remaining__gt=0, expires_at__lte=as_of)

    def releasable(self, *, as_of: object) -> LotQuerySet:
        return self.filter(state=LotState.PENDING, available_at__lte=as_of)


class Lot(models.Model):
    """The points of one credit, spent earliest-expiry first and expired as a whole."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    points = models.BigIntegerField(_("points"))
    remaining = models.BigIntegerField(_("remaining"))
    expired = models.BigIntegerField(_("expired so far"), default=0, db_default=0)
    reversed = models.BigIntegerField(
        _("reversed so far"),
        default=0,
        db_default=0,
        help_text=_("Points of this credit taken back."),
    )
    owed = models.BigIntegerField(
        _("forgiven, not yet settled"),
        default=0,
        db_default=0,
        help_text=_("Reversed points that were already spent and could not be clawed back."),
    )
    state = models.CharField(_("state"), max_length=16, choices=LotState.choices)
    qualifying = models.BooleanField(_("counts toward tier"), default=False)
    available_at = models.DateTimeField(_("available from"))
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = LotQuerySet.as_manager()

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_gt_0"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=models.F("points")),
                name="lot_remaining_between_0_and_points",
            ),
            models.CheckConstraint(condition=Q(expired__gte=0), name="lot_expired_gte_0"),
            models.CheckConstraint(
                condition=Q(owed__gte=0, reversed__gte=models.F("owed")),
                name="lot_owed_within_reversed",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["expired", "reversed"]) | Q(remaining=0),
                name="lot_closed_is_empty",
            ),
        ]
        indexes = [
            # FIFO debits: an account's spendable lots in expiry order, index-only.
            models.Index(
                fields=["account", "expires_at", "id"],
                condition=Q(state="available", remaining__gt=0),
                name="lot_fifo_idx",
            ),
            # The expiry scan touches only lots that still hold points.
            models.Index(
                fields=["expires_at", "account"],
                condition=Q(state="available", remaining__gt=0),
                name="lot_expiry_scan_idx",
            ),
            models.Index(
                fields=["available_at", "account"],
                condition=Q(state="pending"),
                name="lot_pending_release_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.points} {self.state}"


class Allocation(models.Model):
    """How many points a debit took from a lot (positive) or a restore gave back (negative)."""

    # Indexed by allocation_entry_lot_unique (entry first) and allocation_lot_idx.
    entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    points = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("lot allocation")
        verbose_name_plural = _("lot allocations")
        constraints = [
            models.UniqueConstraint(fields=["entry", "lot"], name="allocation_entry_lot_unique"),
            models.CheckConstraint(condition=~Q(points=0), name="allocation_nonzero"),
        ]
        indexes = [models.Index(fields=["lot"], name="allocation_lot_idx")]

    def __str__(self) -> str:
        return f"{self.entry_id} → lot {self.lot_id}: {self.points}"


class ExpiryReminder(SendLog):
    """A "points expiring soon" email: at most one per member and expiry date."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="expiry_reminders")
    expires_on = models.DateField(_("last valid day"))
    points = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(fields=["account", "expires_on"], name="reminder_once_per_date")
        ]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(sent_at__isnull=True), name="reminder_unsent_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.points} on {self.expires_on}"
