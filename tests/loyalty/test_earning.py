from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.errors import IdempotencyConflict
from loyalty.models import (
    Account,
    CampaignKind,
    CampaignParticipation,
    CampaignStatus,
    CapPeriod,
    EarningRule,
    Entry,
    EntryKind,
    Event,
    EventType,
    Lot,
    LotState,
    TierChange,
)
from loyalty.services.earning import EventInput, EventRefused, event_record
from loyalty.services.expiry import pending_release
from loyalty.services.program import program_changed
from loyalty.services.tiers import tiers_recompute
from loyalty.verification import ledger_offences
from tests.conftest import NOW
from tests.loyalty.factories import (
    AccountFactory,
    CampaignFactory,
    EarningRuleFactory,
    TierFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def account() -> Account:
    return AccountFactory()


@pytest.fixture(autouse=True)
def _program(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 14
    settings.TIME_ZONE = "UTC"
    EarningRuleFactory(points_per_unit=Decimal("1.00"), min_amount=Decimal("5"))


def purchase(account: Account, amount: str, key: str, order: str = "", **kwargs) -> dict:
    data = EventInput(
        idempotency_key=key,
        type=EventType.PURCHASE,
        account=account,
        occurred_at=kwargs.pop("occurred_at", NOW),
        amount=Decimal(amount),
        currency=kwargs.pop("currency", "EUR"),
        order_id=order or key,
        **kwargs,
    )
    return event_record(data=data).body


def refund(account: Account, amount: str, key: str, order: str) -> dict:
    data = EventInput(
        idempotency_key=key,
        type=EventType.REFUND,
        account=account,
        occurred_at=NOW,
        amount=Decimal(amount),
        currency="EUR",
        order_id=order,
    )
    return event_record(data=data).body


def activity(account: Account, kind: str, key: str, **metadata) -> dict:
    data = EventInput(
        idempotency_key=key, type=kind, account=account, occurred_at=NOW, metadata=metadata
    )
    return event_record(data=data).body


# --- rule arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "per_unit", "expected"),
    [("49.99", "1.00", 49), ("50.00", "1.00", 50), ("10.50", "1.50", 15), ("9.99", "2.00", 19)],
)
def test_purchase_points_are_per_full_unit_rounded_down(
    account, amount, per_unit, expected
) -> None:
    EarningRuleFactory(points_per_unit=Decimal(per_unit))  # get_or_create: same rule
    from loyalty.models import EarningRule

    EarningRule.objects.update(points_per_unit=Decimal(per_unit))

    body = purchase(account, amount, "k1")

    assert body["points_awarded"] == expected
    assert body["breakdown"] == {"base": expected, "tier_bonus": 0, "campaigns": []}


def test_purchase_below_minimum_earns_nothing_but_is_recorded(account) -> None:
    body = purchase(account, "4.99", "small")

    assert body["points_awarded"] == 0
    assert Event.objects.get().points_awarded == 0
    assert Entry.objects.count() == 0


def test_purchase_points_are_pending_for_the_return_window(account) -> None:
    body = purchase(account, "120.00", "order-1")

    assert (body["status"], body["balance"], body["pending"]) == ("pending", 0, 120)
    lot = Lot.objects.get()
    assert lot.available_at == NOW + timedelta(days=14)
    pending_release(as_of=NOW + timedelta(days=14))
    account.refresh_from_db()
    assert (account.balance, account.pending) == (120, 0)


def test_no_return_window_means_available_at_once(account, settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0

    body = purchase(account, "30", "order-1")

    assert (body["status"], body["balance"]) == ("available", 30)


def test_currency_other_than_the_rules_is_refused(account) -> None:
    with pytest.raises(EventRefused, match="accepted in EUR"):
        purchase(account, "10", "usd", currency="USD")
    assert Event.objects.count() == 0


def test_activity_caps_per_member_per_period(account) -> None:
    EarningRuleFactory(
        event_type=EventType.REVIEW,
        points=20,
        points_per_unit=0,
        cap_count=2,
        cap_period=CapPeriod.MONTH,
    )

    awarded = [activity(account, EventType.REVIEW, f"r{i}")["points_awarded"] for i in range(3)]

    assert awarded == [20, 20, 0]
    account.refresh_from_db()
    assert account.balance == 40


def test_cap_period_starts_again(account, clock) -> None:
    EarningRuleFactory(
        event_type=EventType.SURVEY,
        points=25,
        points_per_unit=0,
        cap_count=1,
        cap_period=CapPeriod.MONTH,
    )
    first = activity(account, EventType.SURVEY, "s1")["points_awarded"]
    clock.move_to(datetime(2026, 7, 1, 0, 1, tzinfo=UTC))
    data = EventInput(
        idempotency_key="s2",
        type=EventType.SURVEY,
        account=account,
        occurred_at=datetime(2026, 7, 1, 0, 1, tzinfo=UTC),
    )

    second = event_record(data=data).body["points_awarded"]

    assert (first, second) == (25, 25)


def test_rule_decides_whether_points_count_toward_tier(account, settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    EarningRuleFactory(
        event_type=EventType.SURVEY, points=25, points_per_unit=0, counts_toward_tier=False
    )

    purchase(account, "40", "p")
    activity(account, EventType.SURVEY, "s")

    account.refresh_from_db()
    assert (account.balance, account.qualifying_points) == (65, 40)


def test_unknown_custom_activity_is_refused_and_writes_nothing(account) -> None:
    with pytest.raises(EventRefused, match="no active custom activity tiktok"):
        activity(account, EventType.CUSTOM, "c1", activity="tiktok")
    assert Event.objects.count() == 0


def test_custom_activity_by_code(account) -> None:
    EarningRuleFactory(event_type=EventType.CUSTOM, code="insta", points=15, points_per_unit=0)

    assert activity(account, EventType.CUSTOM, "c1", activity="insta")["points_awarded"] == 15


# --- idempotency ---------------------------------------------------------------------


def test_replay_returns_the_first_answer(account) -> None:
    first = purchase(account, "80", "key-1", order="A-1")
    data = EventInput(
        idempotency_key="key-1",
        type=EventType.PURCHASE,
        account=account,
        occurred_at=NOW,
        amount=Decimal("80.00"),
        currency="EUR",
        order_id="A-1",
    )

    outcome = event_record(data=data)

    assert outcome.replayed
    assert outcome.body == first
    assert Event.objects.count() == 1
    assert Entry.objects.count() == 1


def test_a_retry_after_the_rules_changed_still_replays_the_first_answer(account) -> None:
    first = purchase(account, "80", "key-1", order="A-1")
    EarningRule.objects.update(points_per_unit=Decimal("3.00"))
    program_changed()

    again = purchase(account, "80", "key-1", order="A-1")

    assert again == first
    assert (first["points_awarded"], Entry.objects.count(), Event.objects.count()) == (80, 1, 1)


def test_same_key_other_body_is_a_conflict(account) -> None:
    purchase(account, "80", "key-1", order="A-1")

    with pytest.raises(IdempotencyConflict):
        purchase(account, "81", "key-1", order="A-1")
    assert Entry.objects.count() == 1


def test_same_order_under_another_key_is_refused(account) -> None:
    purchase(account, "80", "key-1", order="A-1")

    with pytest.raises(EventRefused, match="A-1 was already recorded") as refusal:
        purchase(account, "80", "key-2", order="A-1")
    assert refusal.value.status == 409
    assert Event.objects.count() == 1


# --- tiers -----------------------------------------------------------------------------


def test_tier_multiplies_purchase_points_and_upgrade_happens_on_crossing(account, settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    bronze = TierFactory(name="Bronze", rank=0, threshold=0)
    silver = TierFactory(name="Silver", rank=1, threshold=100, multiplier=Decimal("1.50"))
    tiers_recompute()
    account.refresh_from_db()
    assert account.tier == bronze

    first = purchase(account, "99", "p1")
    second = purchase(account, "10", "p2")
    third = purchase(account, "10", "p3")

    assert first["breakdown"] == {"base": 99, "tier_bonus": 0, "campaigns": []}
    assert second["breakdown"] == {"base": 10, "tier_bonus": 0, "campaigns": []}
    assert third["breakdown"] == {"base": 10, "tier_bonus": 5, "campaigns": []}
    account.refresh_from_db()
    assert account.tier == silver
    change = TierChange.objects.get(direction="up", to_tier=silver)
    assert (change.from_tier, change.qualifying_points) == (bronze, 109)


def test_pending_points_count_toward_tier_only_once_released(account) -> None:
    TierFactory(name="Bronze", rank=0, threshold=0)
    silver = TierFactory(name="Silver", rank=1, threshold=100)

    purchase(account, "150", "p1")
    account.refresh_from_db()
    assert (account.qualifying_points, account.tier) == (0, None)

    pending_release(as_of=NOW + timedelta(days=14))
    tiers_recompute(as_of=NOW + timedelta(days=14))
    account.refresh_from_db()
    assert (account.qualifying_points, account.tier) == (150, silver)


def test_downgrade_waits_for_the_retention_period(account, settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    bronze = TierFactory(name="Bronze", rank=0, threshold=0)
    silver = TierFactory(name="Silver", rank=1, threshold=100, retention_days=400)
    purchase(account, "150", "p1")
    account.refresh_from_db()
    assert account.tier == silver

    report = tiers_recompute(as_of=NOW + timedelta(days=366))  # points left the window
    account.refresh_from_db()
    assert (account.qualifying_points, account.tier, report.downgraded) == (0, silver, 0)

    report = tiers_recompute(as_of=NOW + timedelta(days=401))
    again = tiers_recompute(as_of=NOW + timedelta(days=401))
    account.refresh_from_db()
    assert (account.tier, report.downgraded, again.downgraded) == (bronze, 1, 0)
    assert TierChange.objects.filter(direction="down").count() == 1


# --- campaigns ----------------------------------------------------------------------------


def test_multiplier_campaign_adds_a_separate_lot_with_its_own_expiry(account) -> None:
    campaign = CampaignFactory(
        multiplier=Decimal("2.00"), bonus_expires_on=NOW.date() + timedelta(days=60)
    )

    body = purchase(account, "40", "p1")

    assert body["breakdown"]["campaigns"] == [
        {"id": campaign.pk, "name": campaign.name, "points": 40}
    ]
    assert body["points_awarded"] == 80
    bonus = Lot.objects.get(kind=EntryKind.BONUS)
    assert bonus.expires_at == datetime(2026, 8, 1, tzinfo=UTC)  # end of 31 July
    assert CampaignParticipation.objects.get().points == 40


def test_best_single_campaign_applies_unless_campaigns_stack(account) -> None:
    CampaignFactory(name="Double", multiplier=Decimal("2.00"))
    triple = CampaignFactory(name="Triple", multiplier=Decimal("3.00"))
    fixed = CampaignFactory(
        name="Fixed", kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=7, stackable=True
    )

    body = purchase(account, "10", "p1")

    names = sorted((c["name"], c["points"]) for c in body["breakdown"]["campaigns"])
    assert names == [("Fixed", 7), ("Triple", 20)]
    assert triple.pk in [c["id"] for c in body["breakdown"]["campaigns"]]
    assert fixed.pk in [c["id"] for c in body["breakdown"]["campaigns"]]


def test_spend_threshold_campaign(account) -> None:
    CampaignFactory(
        kind=CampaignKind.SPEND_THRESHOLD,
        multiplier=None,
        bonus_points=150,
        threshold_amount=Decimal("100"),
    )

    below = purchase(account, "99.99", "p1")
    above = purchase(account, "100.00", "p2")

    assert below["breakdown"]["campaigns"] == []
    assert above["breakdown"]["campaigns"][0]["points"] == 150


def test_campaign_window_edges_in_the_program_time_zone(account, settings) -> None:
    settings.TIME_ZONE = "Asia/Tehran"
    # A campaign for 1 June, Tehran time: 31 May 20:30 UTC to 1 June 20:30 UTC.
    CampaignFactory(
        starts_at=datetime(2026, 5, 31, 20, 30, tzinfo=UTC),
        ends_at=datetime(2026, 6, 1, 20, 30, tzinfo=UTC),
    )

    before = purchase(account, "10", "a", occurred_at=datetime(2026, 5, 31, 20, 29, tzinfo=UTC))
    first = purchase(account, "10", "b", occurred_at=datetime(2026, 5, 31, 20, 30, tzinfo=UTC))
    last = purchase(account, "10", "c", occurred_at=datetime(2026, 6, 1, 20, 29, tzinfo=UTC))
    after = purchase(account, "10", "d", occurred_at=datetime(2026, 6, 1, 20, 30, tzinfo=UTC))

    bonuses = [len(b["breakdown"]["campaigns"]) for b in (before, first, last, after)]
    assert bonuses == [0, 1, 1, 0]


def test_campaign_respects_status_tiers_minimum_and_event_types(account) -> None:
    gold = TierFactory(name="Gold", rank=2, threshold=5000)
    CampaignFactory(name="Paused", status=CampaignStatus.PAUSED)
    CampaignFactory(name="Draft", status=CampaignStatus.DRAFT)
    CampaignFactory(name="Gold only").tiers.add(gold)
    CampaignFactory(name="Big baskets", min_amount=Decimal("500"))
    CampaignFactory(
        name="Reviews",
        event_types=["review"],
        kind=CampaignKind.FIXED_BONUS,
        multiplier=None,
        bonus_points=10,
    )

    body = purchase(account, "100", "p")

    assert body["breakdown"]["campaigns"] == []


def test_member_cap_and_budget_limit_the_bonus(account) -> None:
    other = AccountFactory()
    campaign = CampaignFactory(multiplier=Decimal("2.00"), member_cap_points=50, budget_points=70)

    first = purchase(account, "40", "p1")["breakdown"]["campaigns"][0]["points"]
    second = purchase(account, "40", "p2")["breakdown"]["campaigns"][0]["points"]
    third = purchase(account, "40", "p3")["breakdown"]["campaigns"]
    fourth = purchase(other, "40", "p4")["breakdown"]["campaigns"][0]["points"]

    assert (first, second, third, fourth) == (40, 10, [], 20)
    campaign.refresh_from_db()
    assert campaign.budget_used == 70


# --- refunds ------------------------------------------------------------------------------


def test_partial_refunds_reverse_base_and_bonus_proportionally(account) -> None:
    TierFactory(name="Silver", rank=1, threshold=0, multiplier=Decimal("1.50"))
    tiers_recompute()
    account.refresh_from_db()
    CampaignFactory(multiplier=Decimal("2.00"))
    bought = purchase(account, "100.00", "p1", order="O-9")
    assert bought["breakdown"] == {
        "base": 100,
        "tier_bonus": 50,
        "campaigns": [
            {
                "id": bought["breakdown"]["campaigns"][0]["id"],
                "name": bought["breakdown"]["campaigns"][0]["name"],
                "points": 100,
            }
        ],
    }

    quarter = refund(account, "25.00", "r1", order="O-9")
    rest = refund(account, "75.00", "r2", order="O-9")

    assert quarter["breakdown"]["base"] == -25
    assert quarter["breakdown"]["tier_bonus"] == -12
    assert quarter["breakdown"]["campaigns"][0]["points"] == -25
    assert quarter["points_awarded"] == -62
    assert rest["points_awarded"] == -188
    account.refresh_from_db()
    assert (account.balance, account.pending) == (0, 0)
    assert set(Lot.objects.values_list("state", flat=True)) == {LotState.REVERSED}
    assert ledger_offences() == []


def test_refund_of_more_than_was_bought_is_refused(account) -> None:
    purchase(account, "50", "p1", order="O-1")
    refund(account, "30", "r1", order="O-1")

    with pytest.raises(EventRefused, match=r"at most 20\.00 EUR") as refusal:
        refund(account, "20.01", "r2", order="O-1")
    assert refusal.value.status == 409
    assert Event.objects.filter(type=EventType.REFUND).count() == 1


def test_refund_of_an_unknown_order_is_not_found(account) -> None:
    with pytest.raises(EventRefused, match="No purchase with order id NOPE") as refusal:
        refund(account, "10", "r1", order="NOPE")
    assert refusal.value.status == 404
    assert Event.objects.count() == 0


def test_refund_of_another_members_order_is_refused(account) -> None:
    purchase(account, "50", "p1", order="O-1")

    with pytest.raises(EventRefused, match="another member"):
        refund(AccountFactory(), "10", "r1", order="O-1")
    assert Event.objects.count() == 1
