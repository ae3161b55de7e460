"""Staff roles from the migration: what Support and Marketing may and may not do."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from accounts.models import User
from loyalty.models import Campaign, CampaignStatus, EarningRule, Entry, EntryKind, Tier
from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from referrals.models import ProgramSettings, Referral, ReferralCode, ReferralStatus
from rewards.models import Redemption, RedemptionStatus
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import CampaignFactory, EarningRuleFactory, TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db


def staff_in(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def account():
    account = account_open(member=UserFactory())
    points_credit(account=account, points=500, kind=EntryKind.EARN, idempotency_key="seed")
    return account


@pytest.fixture
def campaign() -> Campaign:
    return CampaignFactory(name="Spring", status=CampaignStatus.DRAFT)


@pytest.fixture
def redemption(account) -> Redemption:
    reward = RewardFactory(points_cost=200)
    return reward_redeem(account=account, reward=reward, idempotency_key="r")


@pytest.fixture
def flagged_referral() -> Referral:
    referrer, referee = UserFactory(), UserFactory()
    return Referral.objects.create(
        referrer=referrer,
        referee=referee,
        code=ReferralCode.objects.create(member=referrer, code="ANNA-1"),
        source="link",
        status=ReferralStatus.REVIEW,
        qualify_by=referee.date_joined + timedelta(days=60),
    )


def adjust(client, account, points: int = 25):
    url = reverse("admin:loyalty_account_adjust", args=[account.pk])
    return client.post(url, {"points": str(points), "reason": "goodwill", "idempotency_key": "k"})


def change_campaign(client, campaign: Campaign, name: str):
    """Post the whole campaign form as the admin page would, with a new name."""
    start, end = campaign.starts_at, campaign.ends_at
    data = {
        "name": name,
        "description": "",
        "status": campaign.status,
        "starts_at_0": start.date().isoformat(),
        "starts_at_1": start.time().isoformat("seconds"),
        "ends_at_0": end.date().isoformat(),
        "ends_at_1": end.time().isoformat("seconds"),
        "kind": campaign.kind,
        "multiplier": str(campaign.multiplier),
        "event_types": '["purchase"]',
        "target_segments": ["champions"],
        "stackable": "",
    }
    return client.post(reverse("admin:loyalty_campaign_change", args=[campaign.pk]), data)


def change_code(client, code: ReferralCode, new: str):
    """Post the referral code form as the admin page would: a vanity code for the member."""
    url = reverse("admin:referrals_referralcode_change", args=[code.pk])
    data = {"member": code.member_id, "code": new, "is_vanity": "on", "is_active": "on"}
    return client.post(url, data)


def statuses(client, urls: dict[str, str], gets: list[str], posts: dict[str, dict]) -> dict:
    """The status of a GET of each page in ``gets`` and of a POST to each page in ``posts``."""
    got = {f"GET {page}": client.get(urls[page]).status_code for page in gets}
    posted = {f"POST {page}": client.post(urls[page], data) for page, data in posts.items()}
    return got | {name: response.status_code for name, response in posted.items()}


def admin_urls(model: str, pk: int) -> dict[str, str]:
    return {
        "changelist": reverse(f"admin:{model}_changelist"),
        "add": reverse(f"admin:{model}_add"),
        "change": reverse(f"admin:{model}_change", args=[pk]),
        "delete": reverse(f"admin:{model}_delete", args=[pk]),
    }


# --- Support --------------------------------------------------------------------------------


def test_support_adjusts_points_and_reads_the_ledger(client, account) -> None:
    client.force_login(staff_in("Support"))

    assert client.get(reverse("admin:loyalty_entry_changelist")).status_code == 200
    assert client.get(reverse("admin:loyalty_lot_changelist")).status_code == 200
    assert client.get(reverse("admin:loyalty_event_changelist")).status_code == 200
    assert adjust(client, account).status_code == 302

    account.refresh_from_db()
    assert account.balance == 525
    assert Entry.objects.filter(kind=EntryKind.ADJUST, points=25).count() == 1


def test_support_cannot_change_campaigns_or_open_analytics(client, campaign) -> None:
    client.force_login(staff_in("Support"))

    page = client.get(reverse("admin:loyalty_campaign_change", args=[campaign.pk]))
    posted = change_campaign(client, campaign, "Hijacked")

    assert page.status_code == 200  # may look, read-only
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert client.get(reverse("admin:loyalty_campaign_add")).status_code == 403
    assert client.get(reverse("admin:rewards_reward_add")).status_code == 403
    assert client.get(reverse("analytics")).status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Spring"


def test_support_cancels_redemptions_and_reviews_referrals(
    client, redemption, flagged_referral
) -> None:
    referral = flagged_referral
    client.force_login(staff_in("Support"))

    client.post(
        reverse("admin:rewards_redemption_changelist"),
        {"action": "cancel_selected", "_selected_action": [redemption.pk]},
    )
    client.post(
        reverse("admin:referrals_referral_changelist"),
        {"action": "reject", "_selected_action": [referral.pk]},
    )

    redemption.refresh_from_db()
    referral.refresh_from_db()
    assert redemption.status == RedemptionStatus.CANCELLED
    assert referral.status == ReferralStatus.REJECTED


def test_support_cannot_change_a_members_account_details(client, account) -> None:
    client.force_login(staff_in("Support"))
    member = account.member

    response = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]), {"email": "x@example.com"}
    )

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.email != "x@example.com"


def test_support_cannot_add_or_change_referral_codes(client) -> None:
    member = UserFactory()
    code = referral_code_for(member=member)
    generated = code.code
    client.force_login(staff_in("Support"))

    page = client.get(reverse("admin:referrals_referralcode_change", args=[code.pk]))
    posted = change_code(client, code, "SUMMER26")
    added = client.post(
        reverse("admin:referrals_referralcode_add"),
        {"member": UserFactory().pk, "code": "PARTNER", "is_vanity": "on", "is_active": "on"},
    )

    assert page.status_code == 200  # may look, read-only
    assert 'name="_save"' not in page.content.decode()
    assert (posted.status_code, added.status_code) == (403, 403)
    code.refresh_from_db()
    assert (code.code, code.is_vanity) == (generated, False)
    assert ReferralCode.objects.count() == 1


def test_support_cannot_add_change_or_delete_earning_rules(client) -> None:
    rule = EarningRuleFactory(name="Purchases", points_per_unit=Decimal("1.00"))
    client.force_login(staff_in("Support"))
    form = {"name": "Hijacked", "event_type": "purchase", "code": "", "points": "0",
            "points_per_unit": "9.00", "currency": "EUR", "min_amount": "0",
            "cap_period": "", "is_active": "on", "counts_toward_tier": "on"}  # fmt: skip
    bulk_delete = {"action": "delete_selected", "_selected_action": [rule.pk], "post": "yes"}
    urls = admin_urls("loyalty_earningrule", rule.pk)
    posts = {"add": form, "change": form, "delete": {"post": "yes"}, "changelist": bulk_delete}

    got = statuses(client, urls, gets=list(urls), posts=posts)

    assert got == dict.fromkeys(got, 403)
    rule.refresh_from_db()
    assert (rule.name, rule.points_per_unit, rule.is_active) == ("Purchases", Decimal("1.00"), True)
    assert EarningRule.objects.count() == 1


def test_support_may_look_at_tiers_but_not_add_change_or_delete_them(client) -> None:
    tier = TierFactory(name="Silver", rank=1, threshold=1000, multiplier=Decimal("1.10"))
    client.force_login(staff_in("Support"))
    form = {"name": "Diamond", "rank": "1", "threshold": "0", "multiplier": "3.00",
            "benefits": "", "retention_days": "365", "color": "#000000"}  # fmt: skip
    urls = admin_urls("loyalty_tier", tier.pk)

    page = client.get(urls["change"])
    listed = client.get(urls["changelist"])
    got = statuses(
        client,
        urls,
        gets=["add", "delete"],
        posts={"add": form, "change": form, "delete": {"post": "yes"}},
    )
    bulk_delete = client.post(
        urls["changelist"],
        {"action": "delete_selected", "_selected_action": [tier.pk], "post": "yes"},
    )

    assert (page.status_code, listed.status_code) == (200, 200)  # view_tier: read-only
    assert 'name="_save"' not in page.content.decode()
    assert "delete_selected" not in listed.content.decode()
    assert got == dict.fromkeys(got, 403)
    # the admin offers Support no action on tiers: the posted one is ignored, the list shown
    assert bulk_delete.status_code == 200
    assert list(Tier.objects.values_list("name", "threshold", "multiplier")) == [
        ("Silver", 1000, Decimal("1.10"))
    ]


SETTINGS_FORM = {"referrer_points": "5000", "referee_points": "5000",
                 "qualification": "first_purchase", "min_purchase_amount": "0",
                 "qualify_within_days": "60", "attribution": "last_click",
                 "attribution_days": "30", "monthly_cap": "0", "invite_daily_limit": "10",
                 "signups_per_hour_limit": "5", "invite_message": ""}  # fmt: skip


def test_support_cannot_change_the_referral_program_settings(client) -> None:
    ProgramSettings.objects.create(pk=1, referrer_points=200)
    client.force_login(staff_in("Support"))
    urls = admin_urls("referrals_programsettings", 1)
    posts = {"add": SETTINGS_FORM, "change": SETTINGS_FORM, "delete": {"post": "yes"}}

    got = statuses(client, urls, gets=list(urls), posts=posts)

    assert got == dict.fromkeys(got, 403)
    assert list(ProgramSettings.objects.values_list("pk", "referrer_points")) == [(1, 200)]


def test_support_cannot_create_the_referral_program_settings(client) -> None:
    client.force_login(staff_in("Support"))
    url = reverse("admin:referrals_programsettings_add")

    got = statuses(client, {"add": url}, gets=["add"], posts={"add": SETTINGS_FORM})

    assert got == {"GET add": 403, "POST add": 403}
    assert not ProgramSettings.objects.exists()


def test_marketing_creates_the_referral_program_settings_once(client) -> None:
    client.force_login(staff_in("Marketing"))
    url = reverse("admin:referrals_programsettings_add")

    assert client.post(url, SETTINGS_FORM).status_code == 302
    assert ProgramSettings.objects.count() == 1
    assert client.get(url).status_code == 403  # one row only: the next is a change


# --- Marketing ------------------------------------------------------------------------------


def test_marketing_changes_campaigns_and_targets_segments(client, campaign) -> None:
    client.force_login(staff_in("Marketing"))

    response = change_campaign(client, campaign, "Spring double")

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.target_segments) == ("Spring double", ["champions"])


def test_marketing_runs_rewards_rules_tiers_referral_settings_and_analytics(client) -> None:
    client.force_login(staff_in("Marketing"))
    ProgramSettings.objects.create(pk=1)

    for url in (
        reverse("admin:rewards_reward_add"),
        reverse("admin:loyalty_earningrule_add"),
        reverse("admin:loyalty_tier_add"),
        reverse("admin:referrals_programsettings_change", args=[1]),
        reverse("analytics"),
        reverse("email_preview_index"),
    ):
        assert client.get(url).status_code == 200, url


def test_marketing_sets_vanity_referral_codes(client) -> None:
    influencer, partner = UserFactory(), UserFactory()
    code = referral_code_for(member=influencer)
    ReferralCode.objects.create(member=UserFactory(), code="TAKEN")
    client.force_login(staff_in("Marketing"))

    changed = change_code(client, code, "Summer26")
    clash = change_code(client, code, "taken")
    added = client.post(
        reverse("admin:referrals_referralcode_add"),
        {"member": partner.pk, "code": "PARTNER", "is_vanity": "on", "is_active": "on"},
    )

    assert (changed.status_code, added.status_code) == (302, 302)
    assert clash.context["adminform"].form.errors["code"] == [
        "This code is taken (codes ignore letter case)."
    ]
    code.refresh_from_db()
    assert (code.code, code.is_vanity) == ("Summer26", True)
    assert referral_code_for(member=partner).code == "PARTNER"
    assert client.get("/r/summer26/").context["code"] == code


def test_vanity_code_permissions_migration_is_reversible() -> None:
    migration = import_module("config.migrations.0004_marketing_vanity_codes")
    state = MigrationLoader(connection).project_state(("config", "0004_marketing_vanity_codes"))
    editor = SimpleNamespace(connection=connection)
    marketing = Group.objects.get(name="Marketing")

    def codes() -> set[str]:
        return set(
            marketing.permissions.filter(codename__endswith="_referralcode").values_list(
                "codename", flat=True
            )
        )

    assert codes() == {"add_referralcode", "change_referralcode"}
    migration.revoke(state.apps, editor)
    assert codes() == set()
    assert marketing.permissions.filter(codename="change_programsettings").exists()
    migration.grant(state.apps, editor)
    assert codes() == {"add_referralcode", "change_referralcode"}


def test_marketing_cannot_adjust_points_nor_see_the_ledger(client, account) -> None:
    client.force_login(staff_in("Marketing"))

    assert adjust(client, account).status_code == 403
    for url in (
        reverse("admin:loyalty_entry_changelist"),
        reverse("admin:loyalty_lot_changelist"),
        reverse("admin:loyalty_account_changelist"),
        reverse("admin:loyalty_account_change", args=[account.pk]),
        reverse("admin:loyalty_entry_export"),
        reverse("member_360", args=[account.member_id]),
    ):
        assert client.get(url).status_code == 403, url
    account.refresh_from_db()
    assert account.balance == 500


def test_marketing_cannot_cancel_redemptions(client, account, redemption) -> None:
    client.force_login(staff_in("Marketing"))
    urls = {
        "changelist": reverse("admin:rewards_redemption_changelist"),
        "change": reverse("admin:rewards_redemption_change", args=[redemption.pk]),
    }
    cancel = {"action": "cancel_selected", "_selected_action": [redemption.pk]}

    got = statuses(client, urls, gets=list(urls), posts={"changelist": cancel, "change": {}})

    assert got == dict.fromkeys(got, 403)
    redemption.refresh_from_db()
    account.refresh_from_db()
    assert (redemption.status, redemption.restore_entry) == (RedemptionStatus.COMPLETED, None)
    assert account.balance == 300
    assert not Entry.objects.filter(kind=EntryKind.RESTORE).exists()


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_marketing_cannot_review_flagged_referrals(client, flagged_referral, action) -> None:
    referral = flagged_referral
    client.force_login(staff_in("Marketing"))
    urls = {
        "changelist": reverse("admin:referrals_referral_changelist"),
        "change": reverse("admin:referrals_referral_change", args=[referral.pk]),
    }
    review = {"action": action, "_selected_action": [referral.pk]}

    got = statuses(client, urls, gets=list(urls), posts={"changelist": review, "change": {}})

    assert got == dict.fromkeys(got, 403)
    referral.refresh_from_db()
    assert (referral.status, referral.approved, referral.reviewed_by) == (
        ReferralStatus.REVIEW,
        False,
        None,
    )
    assert not Entry.objects.filter(kind=EntryKind.REFERRAL).exists()


# --- members -------------------------------------------------------------------------------


def test_members_cannot_reach_the_back_office(client, account) -> None:
    client.force_login(account.member)

    for url in (
        reverse("admin:index"),
        reverse("admin:loyalty_entry_changelist"),
        reverse("admin:loyalty_account_adjust", args=[account.pk]),
        reverse("analytics"),
        reverse("member_360", args=[account.member_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    assert adjust(client, account).status_code == 302
    account.refresh_from_db()
    assert account.balance == 500


def test_the_analytics_permission_alone_does_not_open_the_admin_to_a_member(client) -> None:
    member = UserFactory()
    member.groups.add(Group.objects.get(name="Marketing"))
    client.force_login(member)

    response = client.get(reverse("analytics"))

    # the group gives nothing without staff status
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
