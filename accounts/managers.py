from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def email_normalize(email: str) -> str:
    """The stored form of an email address: trimmed and lower-cased."""
    return email.strip().lower()


def mailbox_hash(email: str) -> str:
    """A keyed hash of the mailbox behind ``email`` (its canonical form): lets the referral
    checks recognise a former member without keeping the address. Keyed by SECRET_KEY, so
    rotating the key forgets them, as it does the address hashes of clicks."""
    key = hashlib.sha256(f"vafa-mailbox:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, email_canonical(email).encode(), hashlib.sha256).hexdigest()


def email_canonical(email: str) -> str:
    """One mailbox, one form: case folded, ``+tag`` dropped, and for Gmail the dots
    dropped too (``A.Lice+promo@googlemail.com`` → ``alice@gmail.com``). Used to spot the
    same person behind different spellings of an address."""
    local, _at, domain = email_normalize(email).rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


class UserManager(BaseUserManager):
    """Users are identified by email alone; there is no username."""

    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> Any:
        return self.get(email__iexact=email_normalize(username or ""))

    def _create_user(self, email: str, password: str | None, **extra: Any) -> Any:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(
            email=email_normalize(email), email_canonical=email_canonical(email), **extra
        )
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Any:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> Any:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if extra["is_staff"] is not True or extra["is_superuser"] is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra)
