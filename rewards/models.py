"""The reward catalogue, redemptions and the vouchers shops honour."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

from accounts.models import TimeStampedModel
from loyalty.models.earning import default_currency, money_field


class RewardKind(models.TextChoices):
    FIXED_DISCOUNT = "fixed_discount", _("Discount")
    PERCENT_DISCOUNT = "percent_discount", _("Percentage discount")
    FREE_PRODUCT = "free_product", _("Free product")
    FREE_SHIPPING = "free_shipping", _("Free shipping")
    GIFT_CARD = "gift_card", _("Gift card")
    EXPERIENCE = "experience", _("Early access or experience")
    DONATION = "donation", _("Charity donation")


class RewardQuerySet(models.QuerySet["Reward"]):
    def live(self, *, at: object) -> RewardQuerySet:
        """Rewards a member could redeem at ``at`` (stock and tier aside)."""
        return self.filter(
            Q(active_from__isnull=True) | Q(active_from__lte=at),
            Q(active_until__isnull=True) | Q(active_until__gt=at),
            is_active=True,
        )


class Reward(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=RewardKind.choices)
    image = models.ImageField(_("image"), upload_to="rewards/", blank=True)
    static_image = models.CharField(
        _("built-in image"),
        max_length=200,
        blank=True,
        help_text=_("Path under static/ used when no image is uploaded."),
    )
    points_cost = models.PositiveIntegerField(_("points"))
    money_value = money_field(
        _("value"), null=True, blank=True, help_text=_("Discount, gift card or donation amount.")
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    percent_off = models.DecimalField(
        _("percent off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    per_member_limit = models.PositiveIntegerField(
        _("limit per member"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    min_tier = models.ForeignKey(
        "loyalty.Tier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("minimum tier"),
    )
    active_from = models.DateTimeField(_("available from"), null=True, blank=True)
    active_until = models.DateTimeField(_("available until"), null=True, blank=True)
    voucher_valid_days = models.PositiveIntegerField(_("voucher valid for (days)"), default=90)
    sort_order = models.IntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = RewardQuerySet.as_manager()

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ("sort_order", "points_cost", "pk")
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_costs_points"),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True) | Q(percent_off__gt=0, percent_off__lte=100),
                name="reward_percent_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def image_url(self) -> str:
        if self.image:
            return self.image.url
        return static(self.static_image or "img/rewards/default.svg")


class RedemptionStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Redemption(models.Model):
    """Points spent on a reward: one ledger debit, one voucher. Cancelling gives the points
    back to the lots they came from and returns the stock."""

    account = models.ForeignKey(
        "loyalty.Account", on_delete=models.PROTECT, related_name="redemptions"
    )
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField(_("points"))
    entry = models.OneToOneField(
        "loyalty.Entry", on_delete=models.PROTECT, related_name="redemption"
    )
    restore_entry = models.OneToOneField(
        "loyalty.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RedemptionStatus.choices,
        default=RedemptionStatus.COMPLETED,
    )
    created_at = models.DateTimeField(_("redeemed at"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    # Not stored: True when ``reward_redeem`` answered a retry with the existing redemption.
    replayed = False

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        permissions = [("cancel_redemption", _("Can cancel a redemption and restore its points"))]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="redemption_idempotency_key_unique"
            )
        ]
        indexes = [
            models.Index(fields=["account", "reward", "status"], name="redemption_member_idx"),
            models.Index(fields=["-created_at"], name="redemption_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reward} ({self.points})"


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", _("Ready to use")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Voucher(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    redemption = models.OneToOneField(Redemption, on_delete=models.PROTECT, related_name="voucher")
    status = models.CharField(
        _("status"), max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED
    )
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_order_id = models.CharField(_("used for order"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(status="issued"), name="voucher_expiry_idx"
            )
        ]

    def __str__(self) -> str:
        return self.code
