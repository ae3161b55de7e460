"""The referral program: settings, codes, clicks, invites and referrals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from loyalty.models.earning import money_field

DEFAULT_INVITE_MESSAGE = _(
    "Hi! I collect points at {program} and thought you would like it too. Join with my "
    "link and we both get bonus points: {link}"
)


class Qualification(models.TextChoices):
    SIGNUP = "signup", _("Verified email (sign-up)")
    FIRST_PURCHASE = "first_purchase", _("First purchase")


class Attribution(models.TextChoices):
    FIRST_CLICK = "first_click", _("First click wins")
    LAST_CLICK = "last_click", _("Last click wins")


class ProgramSettings(models.Model):
    """One row: how the referral program works. Edited by marketers in the admin."""

    referrer_points = models.PositiveIntegerField(_("points for the referrer"), default=200)
    referee_points = models.PositiveIntegerField(_("points for the new member"), default=100)
    qualification = models.CharField(
        _("a referral qualifies on"),
        max_length=20,
        choices=Qualification.choices,
        default=Qualification.FIRST_PURCHASE,
    )
    min_purchase_amount = money_field(_("minimum first purchase"), default=20)
    qualify_within_days = models.PositiveIntegerField(
        _("days to qualify after sign-up"), default=60
    )
    attribution_days = models.PositiveIntegerField(_("attribution window (days)"), default=30)
    attribution = models.CharField(
        _("attribution"),
        max_length=12,
        choices=Attribution.choices,
        default=Attribution.LAST_CLICK,
    )
    monthly_cap = models.PositiveIntegerField(
        _("rewarded referrals per referrer per month"),
        null=True,
        blank=True,
        help_text=_("Empty: no cap."),
    )
    rewards_pending = models.BooleanField(_("rewards wait for the return window"), default=True)
    refund_claws_back = models.BooleanField(
        _("a refund after release takes the rewards back"),
        default=True,
        help_text=_(
            "A refund of the qualifying purchase always cancels rewards that are still "
            "pending. Once they are released: on, both sides lose what is still available, "
            "as with a refunded purchase; off, they keep them."
        ),
    )
    invite_daily_limit = models.PositiveIntegerField(_("invites per member per day"), default=10)
    signups_per_hour_limit = models.PositiveIntegerField(
        _("sign-ups per code per hour before review"), default=5
    )
    invite_message = models.TextField(
        _("ready-made invite message"),
        blank=True,
        help_text=_("Leave empty for the default. {program}, {link} and {name} are filled in."),
    )
    personal_messages = models.BooleanField(
        _("members may add a personal message to email invites"),
        default=True,
        help_text=_("Off: invites carry only the club's standard text."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("referral program settings")
        verbose_name_plural = _("referral program settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="referral_settings_single")]

    def __str__(self) -> str:
        return str(_("Referral program settings"))


class ReferralCode(models.Model):
    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_code"
    )
    code = models.CharField(_("code"), max_length=24)
    is_vanity = models.BooleanField(_("vanity code"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")
        constraints = [
            models.UniqueConstraint(Upper("code"), name="referral_code_ci_unique"),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Za-z0-9-]{4,24}$"), name="referral_code_format"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralClick(models.Model):
    """An opened referral link. Only a keyed hash of the address is kept."""

    code = models.ForeignKey(ReferralCode, on_delete=models.CASCADE, related_name="clicks")
    ip_hash = models.CharField(_("address fingerprint"), max_length=64)
    invite = models.ForeignKey(
        "Invite", on_delete=models.SET_NULL, null=True, blank=True, related_name="clicks"
    )
    created_at = models.DateTimeField(_("clicked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral link click")
        verbose_name_plural = _("referral link clicks")
        indexes = [
            models.Index(fields=["code", "created_at"], name="click_code_idx"),
            models.Index(fields=["created_at"], name="click_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} {self.created_at:%Y-%m-%d %H:%M}"


class Invite(models.Model):
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invites_sent"
    )
    email = models.EmailField(_("email"))
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("invited at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invite")
        verbose_name_plural = _("invites")
        indexes = [
            models.Index(fields=["referrer", "created_at"], name="invite_referrer_idx"),
            models.Index(fields=["email"], name="invite_email_idx"),
        ]

    def __str__(self) -> str:
        return self.email


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Signed up")
    REVIEW = "review", _("In review")
    QUALIFIED = "qualified", _("Qualified")
    REWARDED = "rewarded", _("Rewarded")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    REVERSED = "reversed", _("Reversed: purchase refunded")


OPEN_STATUSES = (ReferralStatus.PENDING, ReferralStatus.REVIEW, ReferralStatus.QUALIFIED)
# A purchase can (still, or again) qualify referrals in these states.
WAITING_STATUSES = (ReferralStatus.PENDING, ReferralStatus.REVIEW, ReferralStatus.REVERSED)


class Referral(models.Model):
    """A friend who signed up through a member's code. A person is referred at most once."""

    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made"
    )
    referee = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referred_by"
    )
    code = models.ForeignKey(ReferralCode, on_delete=models.PROTECT, related_name="referrals")
    source = models.CharField(_("source"), max_length=12)  # link, code, invite
    invite = models.ForeignKey(
        Invite, on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    flags = models.JSONField(_("fraud checks that fired"), default=list, blank=True)
    approved = models.BooleanField(_("approved by staff"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    signup_ip_hash = models.CharField(_("sign-up address fingerprint"), max_length=64, blank=True)
    qualify_by = models.DateTimeField(_("must qualify by"))
    created_at = models.DateTimeField(_("signed up at"), auto_now_add=True)
    qualified_at = models.DateTimeField(_("qualified at"), null=True, blank=True)
    rewarded_at = models.DateTimeField(_("rewarded at"), null=True, blank=True)
    qualifying_event = models.ForeignKey(
        "loyalty.Event",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("qualifying purchase"),
    )
    reversals = models.PositiveSmallIntegerField(_("times reversed"), default=0)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    referrer_points = models.PositiveIntegerField(_("referrer points"), default=0)
    referee_points = models.PositiveIntegerField(_("new member points"), default=0)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        permissions = [("review_referral", _("Can approve or reject flagged referrals"))]
        indexes = [
            models.Index(fields=["referrer", "status"], name="referral_referrer_idx"),
            models.Index(fields=["code", "created_at"], name="referral_code_recent_idx"),
            models.Index(fields=["status", "qualify_by"], name="referral_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referee_id} ({self.status})"
