"""Staff roles from the migration: what Support and Marketing may and may not do."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from accounts.models import User
from loyalty.models import Campaign, CampaignStatus, Entry, EntryKind
from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from referrals.models import ProgramSettings, Referral, ReferralCode, ReferralStatus
from rewards.models import RedemptionStatus
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import CampaignFactory
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


def test_support_cancels_redemptions_and_reviews_referrals(client, account) -> None:
    redemption = reward_redeem(
        account=account, reward=RewardFactory(points_cost=200), idempotency_key="r"
    )
    referrer, referee = UserFactory(), UserFactory()
    referral = Referral.objects.create(
        referrer=referrer,
        referee=referee,
        code=ReferralCode.objects.create(member=referrer, code="ANNA-1"),
        source="link",
        status=ReferralStatus.REVIEW,
        qualify_by=referee.date_joined + timedelta(days=60),
    )
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
