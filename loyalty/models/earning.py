"""How points are earned: earning rules per event type, tiers and bonus campaigns."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from accounts.models import TimeStampedModel
from loyalty.models.emails import SendLog


class EventType(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    REFUND = "refund", _("Refund")
    SIGNUP = "signup", _("Sign-up")
    BIRTHDAY = "birthday", _("Birthday")
    PROFILE = "profile_completed", _("Profile completed")
    REVIEW = "review", _("Product review")
    PHOTO = "photo", _("Photo review")
    SURVEY = "survey", _("Survey answered")
    CUSTOM = "custom", _("Custom activity")


class CapPeriod(models.TextChoices):
    DAY = "day", _("per day")
    WEEK = "week", _("per week")
    MONTH = "month", _("per month")
    YEAR = "year", _("per year")
    LIFETIME = "lifetime", _("ever")


def default_currency() -> str:
    """The program's currency, read when a row is created (not frozen into migrations)."""
    return settings.DEFAULT_CURRENCY


def money_field(verbose_name: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        **kwargs,
    )


class EarningRule(TimeStampedModel):
    """Points for one kind of event. Purchases earn per full money unit (rounded down);
    every other event earns a fixed number of points."""

    name = models.CharField(_("name"), max_length=100)
    event_type = models.CharField(_("event type"), max_length=24, choices=EventType.choices)
    code = models.SlugField(
        _("activity code"),
        max_length=50,
        blank=True,
        help_text=_("For custom activities: the code the shop sends in metadata.activity."),
    )
    points = models.PositiveIntegerField(_("fixed points"), default=0)
    points_per_unit = models.DecimalField(
        _("points per money unit"),
        max_digits=8,
        decimal_places=2,
        default=0,
        help_text=_("Purchases: points per 1 unit of the currency, rounded down."),
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    min_amount = money_field(_("minimum amount"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    active_from = models.DateTimeField(_("active from"), null=True, blank=True)
    active_until = models.DateTimeField(_("active until"), null=True, blank=True)
    cap_count = models.PositiveIntegerField(
        _("cap (times)"), null=True, blank=True, help_text=_("Empty: no cap.")
    )
    cap_period = models.CharField(
        _("cap period"), max_length=10, choices=CapPeriod.choices, default=CapPeriod.DAY
    )
    counts_toward_tier = models.BooleanField(_("counts toward tier"), default=True)

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ("event_type", "code")
        constraints = [
            models.UniqueConstraint(fields=["event_type", "code"], name="rule_type_code_unique"),
            models.CheckConstraint(
                condition=Q(points__gt=0) | Q(points_per_unit__gt=0), name="rule_earns_something"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tier(TimeStampedModel):
    """A level reached by qualifying points over a rolling 365 days."""

    name = models.CharField(_("name"), max_length=50)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    threshold = models.PositiveIntegerField(_("qualifying points needed"), default=0)
    multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=4,
        decimal_places=2,
        default=1,
        help_text=_("1.25 earns 25% more purchase points."),
    )
    benefits = models.TextField(_("benefits"), blank=True)
    retention_days = models.PositiveIntegerField(
        _("retention (days)"),
        default=365,
        help_text=_("A member keeps the tier at least this long before a downgrade."),
    )
    color = models.CharField(_("badge colour"), max_length=7, default="#6d28d9")

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ("rank",)
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="tier_multiplier_gte_1"),
            models.UniqueConstraint(fields=["threshold"], name="tier_threshold_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class TierChange(models.Model):
    class Direction(models.TextChoices):
        UP = "up", _("Upgrade")
        DOWN = "down", _("Downgrade")

    account = models.ForeignKey(
        "loyalty.Account", on_delete=models.PROTECT, related_name="tier_changes"
    )
    from_tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    qualifying_points = models.BigIntegerField(_("qualifying points"))
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [models.Index(fields=["account", "-created_at"], name="tierchange_account_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_tier_id} → {self.to_tier_id}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class CampaignKind(models.TextChoices):
    MULTIPLIER = "multiplier", _("Points multiplier")
    FIXED_BONUS = "fixed_bonus", _("Fixed bonus per qualifying event")
    SPEND_THRESHOLD = "spend_threshold", _("Bonus above a spend threshold")


LIVE_CAMPAIGN_STATUSES = (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE)


class Campaign(TimeStampedModel):
    """A seasonal bonus. It applies to events that occur between ``starts_at`` and
    ``ends_at`` while it is scheduled or active; its bonus points are separate lots with the
    campaign's own (usually shorter) expiry."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    kind = models.CharField(_("kind"), max_length=16, choices=CampaignKind.choices)
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("2.00 doubles the base points of each qualifying event."),
    )
    bonus_points = models.PositiveIntegerField(_("bonus points"), null=True, blank=True)
    threshold_amount = money_field(_("spend threshold"), null=True, blank=True)
    min_amount = money_field(_("minimum amount"), null=True, blank=True)
    event_types = models.JSONField(
        _("eligible event types"), default=list, blank=True, help_text=_("Empty: purchases only.")
    )
    tiers = models.ManyToManyField(
        Tier, blank=True, verbose_name=_("eligible tiers"), help_text=_("Empty: every tier.")
    )
    target_segments = models.JSONField(
        _("target segments"),
        default=list,
        blank=True,
        help_text=_("RFM segments the campaign is limited to. Empty: every member."),
    )
    bonus_expires_on = models.DateField(_("bonus points valid through"), null=True, blank=True)
    bonus_expiry_days = models.PositiveIntegerField(
        _("bonus points valid for (days)"), null=True, blank=True
    )
    budget_points = models.BigIntegerField(
        _("total budget (points)"), null=True, blank=True, help_text=_("Empty: no budget limit.")
    )
    budget_used = models.BigIntegerField(_("budget used"), default=0, db_default=0)
    member_cap_points = models.PositiveIntegerField(
        _("cap per member (points)"), null=True, blank=True
    )
    stackable = models.BooleanField(
        _("stacks with other campaigns"),
        default=False,
        help_text=_("Otherwise only the best single campaign applies to an event."),
    )
    announce = models.BooleanField(
        _("announce by email"),
        default=True,
        help_text=_("When it starts, members who accepted marketing emails are told."),
    )
    announced_at = models.DateTimeField(_("announcement started at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ("-starts_at",)
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(budget_points__isnull=True)
                | Q(budget_used__lte=models.F("budget_points")),
                name="campaign_budget_not_overspent",
            ),
            models.CheckConstraint(
                condition=~Q(kind="multiplier") | Q(multiplier__gt=1),
                name="campaign_multiplier_gt_1",
            ),
            models.CheckConstraint(
                condition=Q(kind="multiplier") | Q(bonus_points__gt=0),
                name="campaign_bonus_points_set",
            ),
            models.CheckConstraint(
                condition=~Q(kind="spend_threshold") | Q(threshold_amount__gt=0),
                name="campaign_threshold_set",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "starts_at", "ends_at"], name="campaign_live_idx")
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def eligible_event_types(self) -> list[str]:
        return list(self.event_types) or [EventType.PURCHASE]

    @cached_property
    def tier_ids(self) -> frozenset[int]:
        """The tiers the campaign is limited to (empty: every tier), read once per instance:
        the engine asks for every event it plans."""
        return frozenset(tier.pk for tier in self.tiers.all())


class CampaignParticipation(models.Model):
    """Per campaign and member: bonus points awarded so far (enforces the member cap, and
    counts members reached for analytics). Updated under the member's account lock."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="participations")
    account = models.ForeignKey(
        "loyalty.Account", on_delete=models.PROTECT, related_name="campaign_participations"
    )
    points = models.BigIntegerField(_("bonus points awarded"), default=0, db_default=0)
    events = models.PositiveIntegerField(_("qualifying events"), default=0, db_default=0)
    first_at = models.DateTimeField(_("first qualified at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign participation")
        verbose_name_plural = _("campaign participations")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "account"], name="participation_campaign_account_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.account_id}: {self.points}"


class AnnouncementDelivery(SendLog):
    """One campaign announcement email to one member: the send log that lets a crashed
    announcement resume without sending anybody a second copy."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("announcement delivery")
        verbose_name_plural = _("announcement deliveries")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member"], name="delivery_once_per_member")
        ]
        indexes = [
            models.Index(
                fields=["campaign", "id"],
                condition=Q(sent_at__isnull=True),
                name="delivery_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.member_id}"
