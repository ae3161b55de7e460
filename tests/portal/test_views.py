from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from loyalty.models import Entry, EventType
from loyalty.services.apikeys import api_key_create
from loyalty.services.earning import EventInput, event_record
from loyalty.services.ledger import account_open, points_credit, points_debit
from loyalty.services.tiers import tier_upgrade_check
from referrals.models import ReferralCode
from rewards.models import Redemption, RedemptionStatus, VoucherStatus
from rewards.services import reward_redeem, voucher_use
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import CampaignFactory, EarningRuleFactory, TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "activity", "rewards", "vouchers", "profile", "export", "delete"]


@pytest.fixture
def member(client) -> User:
    user = UserFactory(first_name="Sara")
    account = account_open(member=user)
    points_credit(
        account=account,
        points=500,
        kind="earn",
        idempotency_key=f"f{user.pk}",
        details={"order_id": "1042", "event_type": "purchase"},
    )
    client.force_login(user)
    return user


def history(member: User, n: int) -> None:
    for i in range(n):
        points_credit(
            account=member.loyalty_account,
            points=10,
            kind="earn",
            idempotency_key=f"h{member.pk}-{i}",
        )


@pytest.mark.parametrize("name", PAGES)
def test_every_page_needs_sign_in(client, name) -> None:
    response = client.get(reverse(f"portal:{name}"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_a_member(client, member, name) -> None:
    assert client.get(reverse(f"portal:{name}")).status_code == 200


@pytest.mark.parametrize("language", ["fa", "ar"])
def test_pages_are_right_to_left_in_persian_and_arabic(client, member, language) -> None:
    client.cookies["django_language"] = language
    for name in ("dashboard", "activity", "rewards", "vouchers", "profile"):
        assert (
            '<html lang="' + language + '" dir="rtl">'
            in client.get(reverse(f"portal:{name}")).content.decode()
        )


def test_persian_numbers_use_persian_digits(client, member) -> None:
    client.cookies["django_language"] = "fa"
    html = client.get(reverse("portal:dashboard")).content.decode()
    assert "۵۰۰" in html


def test_dashboard_shows_balance_tier_expiring_campaigns_and_rewards(client, member) -> None:
    TierFactory(name="Bronze", rank=0, threshold=0)
    TierFactory(name="Silver", rank=1, threshold=1000, benefits="Free shipping")
    points_credit(
        account=member.loyalty_account,
        points=40,
        kind="bonus",
        idempotency_key="soon",
        expires_at=timezone.now() + timedelta(days=10),
    )
    CampaignFactory(name="Spring double points")
    RewardFactory(name="Coffee", points_cost=100)

    html = client.get(reverse("portal:dashboard")).content.decode()

    assert 'data-testid="balance">540<' in html
    assert "1,000 qualifying points to Silver" in html
    assert "Silver unlocks: Free shipping" in html
    assert "40 points expire soon" in html
    assert "Spring double points" in html
    assert "Coffee" in html
    assert "Purchase #1042" in html


def test_empty_states_tell_the_member_what_to_do(client) -> None:
    client.force_login(UserFactory())

    dashboard = client.get(reverse("portal:dashboard")).content.decode()
    vouchers = client.get(reverse("portal:vouchers")).content.decode()

    assert "No points yet. Shop with your member email" in dashboard
    assert "No vouchers yet. Swap your points for a reward" in vouchers


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["dashboard", "activity"])
def test_query_count_does_not_grow_with_history(client, member, name) -> None:
    url = reverse(f"portal:{name}")
    _queries(client, url)
    few = _queries(client, url)
    history(member, 60)
    RewardFactory.create_batch(5)
    _queries(client, url)  # the first visit after a catalogue change reads it again

    many = _queries(client, url)

    assert many == few
    assert many <= 20


def test_activity_explains_each_line_and_filters(client, member) -> None:
    EarningRuleFactory(points_per_unit=Decimal("1"))
    event_record(
        data=EventInput(
            idempotency_key="e1",
            type=EventType.PURCHASE,
            account=member.loyalty_account,
            occurred_at=timezone.now(),
            amount=Decimal("42"),
            currency="EUR",
            order_id="7001",
        )
    )
    points_debit(
        account=member.loyalty_account,
        points=100,
        idempotency_key="d",
        details={"reward": "Free coffee"},
    )

    everything = client.get(reverse("portal:activity")).content.decode()
    spent = client.get(reverse("portal:activity") + "?kind=redeem").content.decode()

    assert "Purchase #7001" in everything
    assert "+42 pending" in everything
    assert "Reward: Free coffee" in everything
    assert "Reward: Free coffee" in spent
    assert "Purchase #7001" not in spent


def test_activity_is_paginated(client, member) -> None:
    history(member, 30)

    first = client.get(reverse("portal:activity")).content.decode()
    second = client.get(reverse("portal:activity") + "?page=2").content.decode()

    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second


def test_redeem_with_confirmation_and_no_double_redemption(client, member) -> None:
    reward = RewardFactory(name="Coffee", points_cost=150)
    confirm = client.get(reverse("portal:redeem", args=[reward.pk]), HTTP_HX_REQUEST="true")
    key = confirm.context["key"]
    assert "Spend 150 points on Coffee?" in confirm.content.decode()
    assert "<html" not in confirm.content.decode()  # an htmx fragment

    first = client.post(reverse("portal:redeem", args=[reward.pk]), {"key": key})
    second = client.post(reverse("portal:redeem", args=[reward.pk]), {"key": key})

    redemption = Redemption.objects.get()
    assert (
        first["Location"]
        == second["Location"]
        == reverse("portal:voucher", args=[redemption.pk]) + "?new=1"
    )
    page = client.get(first["Location"]).content.decode()
    assert redemption.voucher.code in page
    assert "Share the joy: invite a friend" in page
    member.loyalty_account.refresh_from_db()
    assert member.loyalty_account.balance == 350


def test_refused_redemption_shows_why(client, member) -> None:
    reward = RewardFactory(points_cost=9999)

    response = client.post(reverse("portal:redeem", args=[reward.pk]), {"key": "k"}, follow=True)

    assert "Not enough points: 500 available, 9999 needed." in response.content.decode()
    assert Redemption.objects.count() == 0


def test_member_cancels_an_unused_voucher(client, member) -> None:
    redemption = reward_redeem(
        account=member.loyalty_account, reward=RewardFactory(points_cost=100), idempotency_key="r"
    )

    client.post(reverse("portal:voucher_cancel", args=[redemption.pk]))

    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.CANCELLED
    assert redemption.voucher.status == VoucherStatus.CANCELLED


def test_member_cannot_reach_another_members_things(client, member) -> None:
    other = UserFactory()
    account = account_open(member=other)
    points_credit(account=account, points=300, kind="earn", idempotency_key="o")
    theirs = reward_redeem(
        account=account, reward=RewardFactory(points_cost=100), idempotency_key="x"
    )

    assert client.get(reverse("portal:voucher", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("portal:voucher_cancel", args=[theirs.pk])).status_code == 404
    assert theirs.voucher.code not in client.get(reverse("portal:vouchers")).content.decode()
    export = json.loads(client.post(reverse("portal:export"), {"user": other.pk}).content)
    assert export["profile"]["email"] == member.email
    assert all(row["points"] != 300 for row in export["ledger"])
    theirs.refresh_from_db()
    assert theirs.status == RedemptionStatus.COMPLETED


def test_completing_the_profile_earns_points_once(client, member) -> None:
    EarningRuleFactory(event_type=EventType.PROFILE, points=50, points_per_unit=0)
    data = {
        "first_name": "Sara",
        "last_name": "Jones",
        "birthday": "1990-04-12",
        "phone": "+44 20 7946 0000",
        "language": "fa",
        "marketing_consent": "on",
    }

    first = client.post(reverse("portal:profile"), data, follow=True)
    client.post(reverse("portal:profile"), {**data, "phone": "+44 20 7946 0001"})

    assert "Thank you for completing your profile: 50 points!" in first.content.decode()
    user = User.objects.get(pk=member.pk)
    assert (user.language, user.marketing_consent) == ("fa", True)
    assert user.marketing_consent_at is not None
    assert (
        Entry.objects.filter(
            account__member=member, details__event_type="profile_completed"
        ).count()
        == 1
    )


def test_profile_refuses_a_future_birthday(client, member) -> None:
    response = client.post(
        reverse("portal:profile"), {"first_name": "S", "language": "en", "birthday": "2999-01-01"}
    )

    assert "A birthday cannot be in the future." in response.content.decode()
    assert User.objects.get(pk=member.pk).birthday is None


def test_export_asks_first_and_says_what_the_file_holds(client, member) -> None:
    response = client.get(reverse("portal:export"))

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Disposition" not in response
    assert "your points, tier and every line of your points history" in html
    assert f'<form method="post" action="{reverse("portal:export")}">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert (
        f'href="{reverse("portal:export")}"'
        in client.get(reverse("portal:profile")).content.decode()
    )


def test_export_is_a_json_download_of_my_data(client, member) -> None:
    response = client.post(reverse("portal:export"))

    assert response["Content-Disposition"] == 'attachment; filename="my-vafa-data.json"'
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["points"]["balance"] == 500
    assert data["ledger"][0]["points"] == 500


def test_export_download_needs_the_csrf_token(member) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    forged = browser.post(reverse("portal:export"))
    page = browser.get(reverse("portal:export"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    confirmed = browser.post(reverse("portal:export"), {"csrfmiddlewaretoken": token})

    assert forged.status_code == 403
    assert "Content-Disposition" not in forged
    assert confirmed.status_code == 200
    assert json.loads(confirmed.content)["profile"]["email"] == member.email


def test_delete_pseudonymizes_keeps_the_ledger_and_disables_the_link(client, member) -> None:
    code = ReferralCode.objects.create(member=member, code="SARA2026")
    entries = Entry.objects.filter(account__member=member).count()

    refused = client.post(reverse("portal:delete"), {"confirm": "no"})
    done = client.post(reverse("portal:delete"), {"confirm": "DELETE"})

    assert "Type DELETE to confirm." in refused.content.decode()
    assert "Your account is deleted" in done.content.decode()
    user = User.objects.get(pk=member.pk)
    assert (user.email, user.first_name, user.is_active) == (
        f"deleted-{user.pk}@deleted.invalid",
        "",
        False,
    )
    assert not user.has_usable_password()
    assert Entry.objects.filter(account__member=member).count() == entries
    code.refresh_from_db()
    assert not code.is_active
    assert client.get(f"/r/{code.code}/").status_code == 404
    assert "_auth_user_id" not in client.session


def test_delete_cancels_unused_vouchers_and_the_api_refuses_them(client, member) -> None:
    account = member.loyalty_account
    unused = reward_redeem(
        account=account, reward=RewardFactory(points_cost=100), idempotency_key="u"
    )
    used = reward_redeem(account=account, reward=RewardFactory(points_cost=50), idempotency_key="v")
    voucher_use(voucher=used.voucher, order_id="WEB-9")
    entries = Entry.objects.filter(account=account).count()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")

    client.post(reverse("portal:delete"), {"confirm": "DELETE"})

    code = unused.voucher.code
    use = api.post(f"/api/v1/vouchers/{code}/use/", {"order_id": "WEB-10"}, format="json")
    assert (use.status_code, use.json()["error"]["code"]) == (409, "voucher_cancelled")
    assert api.get(f"/api/v1/vouchers/{code}/").json()["status"] == VoucherStatus.CANCELLED
    used.voucher.refresh_from_db()
    assert (used.voucher.status, used.voucher.used_order_id) == (VoucherStatus.USED, "WEB-9")
    account.refresh_from_db()
    assert account.balance == 350  # no points back: the account is closed
    assert Entry.objects.filter(account=account).count() == entries
    assert list(Redemption.objects.values_list("status", flat=True)) == [
        RedemptionStatus.COMPLETED,
        RedemptionStatus.COMPLETED,
    ]


def _upgrade(member: User, days_ago: int, clock) -> None:
    """Member reaches Silver ``days_ago`` days before the clock's now."""
    clock.move_to(NOW - timedelta(days=days_ago))
    points_credit(
        account=member.loyalty_account,
        points=200,
        kind="earn",
        idempotency_key=f"q{member.pk}",
        qualifying=True,
    )
    assert tier_upgrade_check(account=member.loyalty_account).to_tier.name == "Silver"
    clock.move_to(NOW)


@pytest.mark.parametrize(("days_ago", "prompted"), [(0, True), (6, True), (8, False)])
def test_dashboard_invites_a_friend_after_a_recent_upgrade(
    client, clock, member, days_ago, prompted
) -> None:
    TierFactory(name="Bronze", rank=0, threshold=0)
    TierFactory(name="Silver", rank=1, threshold=100)
    _upgrade(member, days_ago, clock)

    html = client.get(reverse("portal:dashboard")).content.decode()

    assert ("You reached Silver!" in html) is prompted
    assert ("Share the joy: invite a friend" in html) is prompted
    assert (f'href="{reverse("referrals_refer")}">Invite a friend</a>' in html) is prompted


def test_activity_date_filter_uses_the_program_time_zone(clock, client, member, settings) -> None:
    """The clock stands at NOW (1 June 2026), three weeks after these moments; the member's
    fixture entry is made at NOW too."""
    settings.TIME_ZONE = "Asia/Tehran"  # UTC+03:30, no daylight saving
    moments = {
        "before": datetime(2026, 5, 9, 20, 0, tzinfo=UTC),  # 9 May 23:30 in Tehran
        "first": datetime(2026, 5, 9, 21, 0, tzinfo=UTC),  # 10 May 00:30 in Tehran
        "last": datetime(2026, 5, 11, 20, 0, tzinfo=UTC),  # 11 May 23:30 in Tehran
        "after": datetime(2026, 5, 11, 20, 45, tzinfo=UTC),  # 12 May 00:15 in Tehran
    }
    for name, moment in moments.items():
        points_credit(
            account=member.loyalty_account,
            points=10,
            kind="earn",
            idempotency_key=f"tz-{name}",
            occurred_at=moment,
            details={"order_id": name},
        )

    html = client.get(
        reverse("portal:activity") + "?start=2026-05-10&end=2026-05-11"
    ).content.decode()

    assert ("Purchase #first" in html, "Purchase #last" in html) == (True, True)
    assert ("Purchase #before" in html, "Purchase #after" in html) == (False, False)
    assert "Purchase #1042" not in html  # the fixture's entry, made today


def test_locked_reward_says_so_at_full_contrast(client, member) -> None:
    gold = TierFactory(name="Gold", rank=2, threshold=9000)
    RewardFactory(name="Lounge", points_cost=10, min_tier=gold)

    html = client.get(reverse("portal:rewards")).content.decode()

    assert "opacity-75" not in html
    badge = '<span class="badge text-bg-dark me-1"><span aria-hidden="true">&#128274;</span>'
    assert f"{badge} Locked</span>" in html
    assert "For Gold members and above." in html


def test_language_switcher_waits_for_its_button(client, member) -> None:
    html = client.get(reverse("portal:dashboard")).content.decode()

    switcher = html[html.index(f'action="{reverse("set_language")}"') :].split("</form>")[0]
    assert "onchange" not in switcher
    assert "<noscript>" not in switcher
    assert '<button type="submit"' in switcher
    assert ">Change</button>" in switcher


def test_dashboard_shows_only_campaigns_for_the_members_segment(client, member) -> None:
    from loyalty.models import MemberSegment

    MemberSegment.objects.create(
        account=member.loyalty_account,
        recency=5,
        frequency=5,
        monetary=5,
        label="champions",
        last_purchase_at=timezone.now(),
        purchases=9,
        spend=Decimal("900"),
        computed_at=timezone.now(),
    )
    CampaignFactory(name="For champions", target_segments=["champions"])
    CampaignFactory(name="For sleepers", target_segments=["hibernating"])

    html = client.get(reverse("portal:dashboard")).content.decode()

    assert "For champions" in html
    assert "For sleepers" not in html
