from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.tasks import segments_compute_task
from loyalty.models import Account, CampaignKind, EventType, MemberSegment
from loyalty.services.earning import EventInput, event_record
from loyalty.services.segments import segments_compute
from tests.backoffice.factories import EventFactory
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory, CampaignFactory, EarningRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# Ten purchasers, each given a rank 1..10 (10 = best) on every axis, so the quintiles are
# pairs of ranks: 1–2 → 1, 3–4 → 2, 5–6 → 3, 7–8 → 4, 9–10 → 5.
#        recency rank, frequency rank, monetary rank → expected (r, f, m), label
FIXTURE = {
    "ana": ((10, 10, 10), (5, 5, 5), "champions"),
    "bo": ((9, 8, 9), (5, 4, 5), "champions"),
    "cy": ((6, 9, 3), (3, 5, 2), "loyal"),
    "di": ((8, 1, 4), (4, 1, 2), "new"),
    "ed": ((7, 2, 1), (4, 1, 1), "new"),
    "fay": ((5, 5, 5), (3, 3, 3), "potential"),
    "gus": ((4, 7, 8), (2, 4, 4), "at_risk"),
    "hal": ((3, 6, 7), (2, 3, 4), "at_risk"),
    "ivy": ((2, 3, 6), (1, 2, 3), "hibernating"),
    "jo": ((1, 4, 2), (1, 2, 1), "hibernating"),
}


def _purchases(account: Account, recency: int, frequency: int, monetary: int) -> None:
    """``frequency`` purchases, the last ``11 - recency`` days ago, netting ``100 × monetary``:
    the last one is big and was partly refunded (spend is net of refunds), the others 1.00."""
    last = NOW - timedelta(days=11 - recency)
    EventFactory(
        account=account,
        occurred_at=last,
        amount=Decimal(100 * monetary - (frequency - 1) + 50),
        refunded_amount=Decimal(50),
    )
    for i in range(1, frequency):
        EventFactory(account=account, occurred_at=last - timedelta(days=30 * i), amount=1)


@pytest.fixture
def purchasers() -> dict[str, Account]:
    accounts = {}
    for name, ((recency, frequency, monetary), _scores, _label) in FIXTURE.items():
        accounts[name] = AccountFactory(member__email=f"{name}@example.com")
        _purchases(accounts[name], recency, frequency, monetary)
    return accounts


def _segments() -> dict[str, tuple[tuple[int, int, int], str]]:
    rows = MemberSegment.objects.select_related("account__member")
    return {
        s.account.member.email.split("@")[0]: ((s.recency, s.frequency, s.monetary), s.label)
        for s in rows
    }


def test_rfm_scores_are_quintiles_and_labels_follow_the_rules(purchasers) -> None:
    never_bought = AccountFactory()
    EventFactory(account=never_bought, type=EventType.REVIEW, amount=None, order_id="")

    stored = segments_compute()

    assert stored == 10
    assert _segments() == {name: (scores, label) for name, (_r, scores, label) in FIXTURE.items()}
    ana = MemberSegment.objects.get(account=purchasers["ana"])
    last = NOW - timedelta(days=1)
    assert (ana.purchases, ana.spend, ana.last_purchase_at) == (10, Decimal("1000.00"), last)


def test_purchases_after_as_of_are_ignored_and_a_rerun_updates_in_place(purchasers) -> None:
    segments_compute()
    # jo buys a lot today: the most recent, most frequent and biggest spender
    for _ in range(12):
        EventFactory(account=purchasers["jo"], occurred_at=NOW, amount=500)

    segments_compute(as_of=NOW - timedelta(hours=1))
    assert _segments()["jo"] == ((1, 2, 1), "hibernating")

    segments_compute_task.delay()
    assert _segments()["jo"] == ((5, 5, 5), "champions")
    assert MemberSegment.objects.count() == 10


def test_nightly_job_runs_by_hand(purchasers) -> None:
    call_command("run_job", "compute_segments")

    assert MemberSegment.objects.filter(label="champions").count() == 2


# --- campaign targeting -------------------------------------------------------------------


@pytest.fixture
def program(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    settings.TIME_ZONE = "UTC"
    EarningRuleFactory(points_per_unit=Decimal("1.00"))


def _segment(account: Account, label: str) -> None:
    MemberSegment.objects.create(
        account=account,
        recency=3,
        frequency=3,
        monetary=3,
        label=label,
        last_purchase_at=NOW,
        purchases=1,
        spend=1,
        computed_at=NOW,
    )


def _buy(account: Account, key: str) -> dict:
    data = EventInput(
        idempotency_key=key,
        type=EventType.PURCHASE,
        account=account,
        occurred_at=NOW,
        amount=Decimal("40"),
        currency="EUR",
        order_id=key,
    )
    return event_record(data=data).body


@pytest.mark.usefixtures("program")
def test_a_segment_targeted_campaign_rewards_only_members_in_those_segments() -> None:
    CampaignFactory(
        kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=25, target_segments=["loyal"]
    )
    loyal, at_risk, unsegmented = AccountFactory(), AccountFactory(), AccountFactory()
    _segment(loyal, "loyal")
    _segment(at_risk, "at_risk")

    assert _buy(loyal, "a")["points_awarded"] == 65
    assert _buy(at_risk, "b")["points_awarded"] == 40
    assert _buy(unsegmented, "c")["points_awarded"] == 40


@pytest.mark.usefixtures("program")
def test_segment_targeting_costs_the_engine_one_query_at_most() -> None:
    campaign = CampaignFactory(kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=25)
    first, second = AccountFactory(), AccountFactory()
    _segment(first, "loyal")
    _segment(second, "loyal")

    with CaptureQueriesContext(connection) as untargeted:
        assert _buy(first, "a")["points_awarded"] == 65
    campaign.target_segments = ["loyal", "champions"]
    campaign.save()
    with CaptureQueriesContext(connection) as targeted:
        assert _buy(second, "b")["points_awarded"] == 65

    assert len(targeted) == len(untargeted) + 1
