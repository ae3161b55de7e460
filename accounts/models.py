from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.managers import UserManager


class TimeStampedModel(models.Model):
    """Common base: when a row was created and last changed."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address: a member, staff, or both.

    The member profile (names, birthday, phone, language, marketing consent) lives on
    the user row itself, so every page that greets a member needs no extra query.
    """

    email = models.EmailField(_("email address"), unique=True)
    email_canonical = models.CharField(
        _("canonical email"),
        max_length=254,
        db_index=True,
        editable=False,
        help_text=_("The address without case, +tags or Gmail dots, to recognise one person."),
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    marketing_consent = models.BooleanField(_("marketing emails allowed"), default=False)
    marketing_consent_at = models.DateTimeField(
        _("marketing consent given at"), null=True, blank=True
    )
    email_points_earned = models.BooleanField(_("email me when I earn points"), default=False)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can log into the admin site."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(marketing_consent=False)
                | models.Q(marketing_consent_at__isnull=False),
                name="accounts_user_consent_has_time",
            ),
        ]
        indexes = [models.Index(fields=["date_joined"], name="accounts_user_joined_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        return self.first_name or self.email.split("@", 1)[0]

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.display_name


class LoginTrace(models.Model):
    """When and from which (hashed) address a member signed in: evidence for fraud checks
    such as a referee signing up from the referrer's own network. No raw IP is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_traces")
    ip_hash = models.CharField(_("address fingerprint"), max_length=64)
    created_at = models.DateTimeField(_("signed in at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")
        indexes = [models.Index(fields=["user", "-created_at"], name="logintrace_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class ClosedMailbox(models.Model):
    """A member who deleted their account, remembered only as a keyed hash of their mailbox:
    someone coming back through a friend's referral link with that mailbox is sent to the
    review queue (the referral check "the email already belonged to a member")."""

    mailbox_hash = models.CharField(_("mailbox hash"), max_length=64, unique=True)
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("closed account's mailbox")
        verbose_name_plural = _("closed accounts' mailboxes")

    def __str__(self) -> str:
        return self.mailbox_hash[:12]
