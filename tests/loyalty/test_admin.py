from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from loyalty.models import Entry, EntryKind
from loyalty.services.ledger import points_credit
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory()
    points_credit(account=account, points=100, kind=EntryKind.EARN, idempotency_key="seed")
    return account


def staff(*perms: str):
    user = UserFactory(is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_ledger_is_read_only_even_for_superusers(client, account) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    entry = Entry.objects.get()

    assert client.get(reverse("admin:loyalty_entry_changelist")).status_code == 200
    assert client.get(reverse("admin:loyalty_entry_add")).status_code == 403
    assert client.get(reverse("admin:loyalty_entry_delete", args=[entry.pk])).status_code == 403
    page = client.get(reverse("admin:loyalty_entry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    client.post(reverse("admin:loyalty_entry_change", args=[entry.pk]), {"points": 999})
    assert Entry.objects.get().points == 100


def test_account_page_shows_lots_and_recent_entries(client, account) -> None:
    client.force_login(staff("view_account"))

    page = client.get(reverse("admin:loyalty_account_change", args=[account.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Open lots (earliest expiry first)" in html
    assert "100 / 100" in html
    assert "Adjust points" not in html  # no permission to adjust


def test_staff_with_permission_adjusts_points_with_a_reason(client, account) -> None:
    user = staff("view_account", "adjust_points")
    client.force_login(user)
    url = reverse("admin:loyalty_account_adjust", args=[account.pk])
    assert (
        "Adjust points"
        in client.get(reverse("admin:loyalty_account_change", args=[account.pk])).content.decode()
    )

    response = client.post(
        url, {"points": "-30", "reason": "Returned goods", "idempotency_key": "k1"}
    )
    client.post(url, {"points": "-30", "reason": "Returned goods", "idempotency_key": "k1"})

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.balance == 70  # the double submit had the same key
    entry = Entry.objects.get(kind=EntryKind.ADJUST)
    assert (entry.points, entry.note, entry.created_by) == (-30, "Returned goods", user)


def test_adjustment_refusals_show_on_the_form_and_write_nothing(client, account) -> None:
    client.force_login(staff("view_account", "adjust_points"))
    url = reverse("admin:loyalty_account_adjust", args=[account.pk])

    overdraw = client.post(url, {"points": "-500", "reason": "x", "idempotency_key": "k2"})
    no_reason = client.post(url, {"points": "5", "reason": "", "idempotency_key": "k3"})

    assert "Not enough points: 100 available, 500 needed." in overdraw.content.decode()
    assert no_reason.context["form"].errors["reason"]
    assert Entry.objects.count() == 1


def test_adjusting_without_the_permission_is_forbidden(client, account) -> None:
    client.force_login(staff("view_account", "change_account"))
    url = reverse("admin:loyalty_account_adjust", args=[account.pk])

    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"points": "5", "reason": "x", "idempotency_key": "k"}).status_code == 403
    )
    assert Entry.objects.count() == 1


def test_members_cannot_reach_the_admin(client, account) -> None:
    client.force_login(account.member)

    response = client.get(reverse("admin:loyalty_account_change", args=[account.pk]))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
