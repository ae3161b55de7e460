from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_create_user_stores_lowercase_email_and_hashed_password() -> None:
    user = User.objects.create_user("  Ana.Lopez@Example.COM ", "s3cret-pass")

    assert user.email == "ana.lopez@example.com"
    assert user.check_password("s3cret-pass")
    assert user.password != "s3cret-pass"
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert not hasattr(user, "username")


def test_create_user_without_email_is_refused() -> None:
    with pytest.raises(ValueError, match="email address is required"):
        User.objects.create_user("", "pw")
    assert User.objects.count() == 0


def test_create_superuser_sets_flags_and_refuses_contradictions() -> None:
    admin = User.objects.create_superuser("boss@example.com", "pw")
    assert (admin.is_staff, admin.is_superuser) == (True, True)

    with pytest.raises(ValueError, match="is_staff=True"):
        User.objects.create_superuser("other@example.com", "pw", is_staff=False)
    assert User.objects.count() == 1


def test_email_is_unique_regardless_of_case() -> None:
    User.objects.create_user("dup@example.com", "pw")
    user = User(email="DUP@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()
    assert User.objects.count() == 1


def test_natural_key_lookup_ignores_case() -> None:
    user = User.objects.create_user("case@example.com", "pw")
    assert User.objects.get_by_natural_key("CASE@Example.com") == user


def test_marketing_consent_needs_a_time() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("c@example.com", "pw", marketing_consent=True)
    assert User.objects.count() == 0
