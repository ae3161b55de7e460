from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import BaseUserManager

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def email_normalize(email: str) -> str:
    """The stored form of an email address: trimmed and lower-cased."""
    return email.strip().lower()


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
