"""Campaign announcements reach the members the campaign pays, and staff see how many."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from loyalty.models import AnnouncementDelivery, Campaign, CampaignStatus, Entry, MemberSegment
from loyalty.selectors import campaign_audience
from loyalty.services.earning import EventInput, event_record
from loyalty.services.notifications import campaigns_run
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import (
    AccountFactory,
    CampaignFactory,
    EarningRuleFactory,
    TierFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def member(
    email: str, *, consent: bool = True, tier=None, segment: str = "", verified: bool = True
) -> User:
    user = UserFactory(
        email=email, marketing_consent=consent, marketing_consent_at=NOW, verified=verified
    )
    account = AccountFactory(member=user, tier=tier)
    if segment:
        MemberSegment.objects.create(
            account=account,
            recency=5,
            frequency=5,
            monetary=5,
            label=segment,
            last_purchase_at=NOW - timedelta(days=1),
            purchases=3,
            spend=Decimal("90"),
            computed_at=NOW,
        )
    return user


def live_campaign(**kwargs) -> Campaign:
    return CampaignFactory(
        status=CampaignStatus.ACTIVE,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(days=7),
        **kwargs,
    )


def announce(capture) -> list[str]:
    with capture(execute=True):
        campaigns_run(as_of=NOW)
    return sorted(address for message in mail.outbox for address in message.to)


def audience_text(client, campaign: Campaign) -> str:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:loyalty_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200
    return page.content.decode()


def test_a_tier_limited_campaign_is_announced_only_to_consenting_members_of_the_tier(
    client, django_capture_on_commit_callbacks
) -> None:
    gold, silver = TierFactory(rank=2, name="Gold"), TierFactory(rank=1, name="Silver")
    member("gold@example.com", tier=gold)
    member("gold-quiet@example.com", tier=gold, consent=False)
    member("silver@example.com", tier=silver)
    member("no-tier@example.com")
    UserFactory(email="no-account@example.com", marketing_consent=True, marketing_consent_at=NOW)
    campaign = live_campaign(name="Gold weekend")
    campaign.tiers.set([gold])

    shown = audience_text(client, campaign)
    recipients = announce(django_capture_on_commit_callbacks)

    assert recipients == ["gold@example.com"]
    assert "This announcement will reach 1 member." in shown
    assert AnnouncementDelivery.objects.filter(campaign=campaign).count() == 1


def test_a_segment_limited_campaign_is_announced_only_to_consenting_members_of_the_segments(
    client, django_capture_on_commit_callbacks
) -> None:
    member("champ@example.com", segment="champions")
    member("loyal@example.com", segment="loyal")
    member("champ-quiet@example.com", segment="champions", consent=False)
    member("risk@example.com", segment="at_risk")
    member("never-bought@example.com")
    campaign = live_campaign(name="Thank you", target_segments=["champions", "loyal"])

    shown = audience_text(client, campaign)
    recipients = announce(django_capture_on_commit_callbacks)

    assert recipients == ["champ@example.com", "loyal@example.com"]
    assert "This announcement will reach 2 members." in shown


def test_tier_and_segment_together_narrow_the_audience_to_both(
    client, django_capture_on_commit_callbacks
) -> None:
    gold = TierFactory(rank=2, name="Gold")
    member("gold-champ@example.com", tier=gold, segment="champions")
    member("gold-risk@example.com", tier=gold, segment="at_risk")
    member("champ@example.com", segment="champions")
    campaign = live_campaign(target_segments=["champions"])
    campaign.tiers.set([gold])

    shown = audience_text(client, campaign)
    recipients = announce(django_capture_on_commit_callbacks)

    assert recipients == ["gold-champ@example.com"]
    assert "This announcement will reach 1 member." in shown


def test_an_untargeted_campaign_reaches_every_consenting_active_member(
    client, django_capture_on_commit_callbacks
) -> None:
    member("a@example.com")
    member("b@example.com", tier=TierFactory(rank=1))
    member("quiet@example.com", consent=False)
    # consent ticked at sign-up by someone who never confirmed the address: not theirs to give
    member("unconfirmed@example.com", verified=False)
    UserFactory(
        email="gone@example.com", marketing_consent=True, marketing_consent_at=NOW, is_active=False
    )
    campaign = live_campaign()

    shown = audience_text(client, campaign)
    recipients = announce(django_capture_on_commit_callbacks)

    assert recipients == ["a@example.com", "b@example.com"]
    assert "This announcement will reach 2 members." in shown


def test_saving_a_campaign_to_announce_confirms_its_audience(client) -> None:
    gold = TierFactory(rank=2, name="Gold")
    member("gold@example.com", tier=gold)
    member("other@example.com")
    campaign = CampaignFactory(status=CampaignStatus.DRAFT)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:loyalty_campaign_change", args=[campaign.pk])
    form = {
        "name": campaign.name,
        "status": "draft",
        "starts_at_0": "2026-06-10",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-06-20",
        "ends_at_1": "00:00:00",
        "kind": "multiplier",
        "multiplier": "2.00",
        "event_types": "[]",
        "tiers": [gold.pk],
        "announce": "on",
    }

    response = client.post(url, form, follow=True)

    assert response.status_code == 200
    assert "This announcement will reach 1 member." in [
        str(m) for m in response.context["messages"]
    ]


def test_a_campaign_not_announced_says_so(client) -> None:
    member("a@example.com")
    campaign = live_campaign(announce=False)

    shown = audience_text(client, campaign)

    assert "Not announced by email." in shown
    assert "This announcement will reach" not in shown


def test_announce_now_shows_the_audience_first_then_emails_exactly_it(
    client, django_capture_on_commit_callbacks
) -> None:
    gold = TierFactory(rank=2, name="Gold")
    member("gold@example.com", tier=gold)
    member("other@example.com")
    campaign = live_campaign(name="Gold weekend")
    campaign.tiers.set([gold])
    later = CampaignFactory(
        name="Autumn",
        starts_at=NOW + timedelta(days=90),
        ends_at=NOW + timedelta(days=99),
        status=CampaignStatus.SCHEDULED,
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:loyalty_campaign_changelist")
    chosen = {"action": "announce_now", "_selected_action": [campaign.pk, later.pk]}

    confirm = client.post(url, chosen)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {**chosen, "confirm": "yes"}, follow=True)
        again = client.post(url, {**chosen, "confirm": "yes"}, follow=True)

    page = confirm.content.decode()
    assert "<bdi>Gold weekend</bdi></strong>: This announcement will reach 1 member." in page
    assert "<bdi>Autumn</bdi></strong>: Not announced now" in page
    assert [m.to for m in mail.outbox] == [["gold@example.com"]]
    assert "Announcement queued for 1 member." in [str(m) for m in done.context["messages"]]
    assert "Announcement queued for 0 members." in [str(m) for m in again.context["messages"]]


def test_the_audience_is_exactly_who_the_engine_pays_the_bonus(settings) -> None:

    settings.RETURN_WINDOW_DAYS = 0
    EarningRuleFactory(points_per_unit=Decimal("1"))
    gold, silver = TierFactory(rank=2, name="Gold"), TierFactory(rank=1, name="Silver")
    people = [
        member(f"{tier.name if tier else 'none'}-{segment or 'none'}@example.com".lower(),
               tier=tier, segment=segment)
        for tier in (gold, silver, None)
        for segment in ("champions", "loyal", "at_risk", "")
    ]  # fmt: skip
    campaign = live_campaign(target_segments=["champions", "at_risk"])
    campaign.tiers.set([gold, silver])

    for person in people:
        event_record(
            data=EventInput(
                idempotency_key=f"buy-{person.pk}",
                type="purchase",
                account=person.loyalty_account,
                occurred_at=NOW,
                amount=Decimal("50"),
                currency="EUR",
                order_id=f"o-{person.pk}",
            )
        )
    paid = Entry.objects.filter(details__campaign_id=campaign.pk)
    audience = set(campaign_audience(campaign=campaign).values_list("email", flat=True))
    assert set(paid.values_list("account__member__email", flat=True)) == audience
    assert audience == {
        "gold-champions@example.com",
        "gold-at_risk@example.com",
        "silver-champions@example.com",
        "silver-at_risk@example.com",
    }
