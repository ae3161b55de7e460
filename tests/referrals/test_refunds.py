"""A refund of the purchase that qualified a referral (issue 14, item 3): pending rewards
are reversed on both sides, released ones per the program's claw-back setting, and a
later purchase may qualify the referral again (paying once)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.models import User
from loyalty.models import Entry, EntryKind, Event, EventType, Lot, LotState
from loyalty.services.apikeys import api_key_create
from loyalty.services.earning import EventInput, event_record
from loyalty.services.expiry import pending_release
from loyalty.services.imports import events_import, rows_read
from loyalty.services.ledger import account_for_member, account_open, points_debit
from loyalty.verification import ledger_offences
from referrals.codes import referral_code_for
from referrals.models import Qualification, Referral, ReferralStatus
from referrals.selectors import member_referral_stats, program_funnel
from referrals.services import (
    program_settings,
    referral_approve,
    referral_attach,
    referral_refund,
)
from referrals.tasks import referral_qualify_task, referral_refund_task
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory

pytestmark = pytest.mark.django_db

WINDOW = 14
CHANGELIST = "admin:referrals_referral_changelist"
CHANGE = "admin:referrals_referral_change"
SETTINGS_CHANGE = "admin:referrals_programsettings_change"


@pytest.fixture(autouse=True)
def program(settings):
    settings.RETURN_WINDOW_DAYS = WINDOW
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    program = program_settings()
    program.referrer_points, program.referee_points = 200, 100
    program.qualification = Qualification.FIRST_PURCHASE
    program.min_purchase_amount = Decimal("20")
    program.rewards_pending = True
    program.save()
    return program


@pytest.fixture
def referrer() -> User:
    user = UserFactory(email="rita@example.com", first_name="Rita")
    account_open(member=user)
    return user


@pytest.fixture
def friend(referrer) -> User:
    user = UserFactory(email="nina@example.com", first_name="Nina")
    account_open(member=user)
    referral_attach(referee=user, code=referral_code_for(member=referrer).code, source="code")
    return user


@pytest.fixture
def shop(django_capture_on_commit_callbacks):
    """Send a purchase or refund the way the events API does; what referrals do after
    commit (signal, task) runs too."""

    def send(member: User, type_: str, amount: str, order: str, key: str = "", at=None) -> Event:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = event_record(
                data=EventInput(
                    idempotency_key=key or f"{type_}-{order}-{amount}",
                    type=type_,
                    account=account_for_member(member=member),
                    occurred_at=at or timezone.now(),
                    amount=Decimal(amount),
                    currency="EUR",
                    order_id=order,
                )
            )
        return outcome.event

    return send


def shop_quietly(member: User, amount: str, order: str) -> Event:
    """A purchase whose after-commit work (the referral task) is left to the caller."""
    return event_record(
        data=EventInput(
            idempotency_key=f"purchase-{order}",
            type=EventType.PURCHASE,
            account=account_for_member(member=member),
            occurred_at=timezone.now(),
            amount=Decimal(amount),
            currency="EUR",
            order_id=order,
        )
    ).event


def referral_points(member: User) -> tuple[int, int]:
    """(available, pending) points the member still holds in referral reward lots."""
    lots = Lot.objects.filter(account__member=member, entries__kind=EntryKind.REFERRAL)
    sums = lots.aggregate(
        available=Sum("remaining", filter=Q(state=LotState.AVAILABLE)),
        pending=Sum("remaining", filter=Q(state=LotState.PENDING)),
    )
    return sums["available"] or 0, sums["pending"] or 0


def balance(member: User) -> tuple[int, int]:
    account = account_for_member(member=member)
    return account.balance, account.pending


def release_all() -> None:
    pending_release(as_of=timezone.now() + timedelta(days=WINDOW + 1))


def reversals() -> int:
    return Entry.objects.filter(kind=EntryKind.REVERSAL, source__startswith="referral:").count()


# --- before release --------------------------------------------------------------------


def test_full_refund_before_release_reverses_both_rewards(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    assert Referral.objects.get().status == ReferralStatus.REWARDED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 200), (0, 100))

    shop(friend, EventType.REFUND, "50.00", "o-1")

    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.REVERSED
    assert referral.get_status_display() == "Reversed: purchase refunded"
    assert (referral.referrer_points, referral.referee_points) == (0, 0)
    assert (referral.qualified_at, referral.qualifying_event, referral.reversals) == (None, None, 1)
    assert referral.reason == "the qualifying purchase was refunded"
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))
    assert reversals() == 2
    release_all()
    assert (balance(referrer), balance(friend)) == ((0, 0), (0, 0))
    assert ledger_offences() == []


def test_partial_refund_below_the_minimum_reverses_both(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "30.00", "o-1")

    shop(friend, EventType.REFUND, "10.01", "o-1")  # 19.99 left, the minimum is 20

    assert Referral.objects.get().status == ReferralStatus.REVERSED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))
    release_all()
    assert balance(referrer) == (0, 0)
    assert balance(friend) == (20, 0)  # the purchase's own points: 30 less 10 reversed


def test_partial_refund_above_the_minimum_keeps_the_reward(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")

    shop(friend, EventType.REFUND, "30.00", "o-1")  # 20.00 left: still qualifies

    referral = Referral.objects.get()
    assert (referral.status, referral.referrer_points, referral.referee_points) == (
        ReferralStatus.REWARDED,
        200,
        100,
    )
    assert reversals() == 0
    release_all()
    assert (referral_points(referrer), referral_points(friend)) == ((200, 0), (100, 0))


def test_refund_of_another_order_leaves_the_referral_alone(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    shop(friend, EventType.PURCHASE, "40.00", "o-2")

    shop(friend, EventType.REFUND, "40.00", "o-2")

    assert Referral.objects.get().status == ReferralStatus.REWARDED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 200), (0, 100))


def test_refund_through_the_events_api(django_capture_on_commit_callbacks, referrer, friend):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    body = {"member_id": friend.pk, "currency": "EUR", "order_id": "o-1"}
    at = timezone.now().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        bought = api.post(
            "/api/v1/events/",
            {**body, "idempotency_key": "p1", "type": "purchase", "amount": "50.00"},
            format="json",
        )
    with django_capture_on_commit_callbacks(execute=True):
        refunded = api.post(
            "/api/v1/events/",
            {
                **body,
                "idempotency_key": "r1",
                "type": "refund",
                "amount": "50.00",
                "occurred_at": at,
            },
            format="json",
        )

    assert (bought.status_code, refunded.status_code) == (201, 201)
    assert Referral.objects.get().status == ReferralStatus.REVERSED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))


def test_refund_while_in_review_unqualifies_so_approval_pays_nothing(
    shop, referrer, friend
) -> None:
    Referral.objects.update(status=ReferralStatus.REVIEW, flags=[{"rule": "x", "evidence": "y"}])
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    assert Referral.objects.get().qualified_at is not None

    shop(friend, EventType.REFUND, "50.00", "o-1")
    referral = referral_approve(referral=Referral.objects.get(), staff=UserFactory(is_staff=True))

    assert (referral.status, referral.qualified_at) == (ReferralStatus.PENDING, None)
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))


# --- idempotency and requalification ------------------------------------------------------


def test_replayed_refund_reverses_once(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "30.00", "o-1")
    at = timezone.now()
    refund = shop(friend, EventType.REFUND, "12.00", "o-1", key="r-1", at=at)

    shop(friend, EventType.REFUND, "12.00", "o-1", key="r-1", at=at)  # the shop retries
    referral_refund_task.delay(refund.pk)  # the task delivered again
    referral_refund(refund_event_id=refund.pk)
    more = shop(friend, EventType.REFUND, "5.00", "o-1")  # another part of the order
    referral_refund(refund_event_id=more.pk)

    referral = Referral.objects.get()
    assert (referral.status, referral.reversals) == (ReferralStatus.REVERSED, 1)
    assert reversals() == 2
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))


def test_a_later_purchase_qualifies_again_and_pays_once(shop, referrer, friend) -> None:
    first = shop(friend, EventType.PURCHASE, "50.00", "o-1")
    shop(friend, EventType.REFUND, "50.00", "o-1")
    mail.outbox.clear()

    second = shop(friend, EventType.PURCHASE, "25.00", "o-2")
    for event in (first, second):  # the purchases' tasks delivered again
        referral_qualify_task.delay(friend.pk, "purchase", str(event.amount), None, event.pk)

    referral = Referral.objects.get()
    assert (referral.status, referral.qualifying_event_id) == (ReferralStatus.REWARDED, second.pk)
    assert (referral.referrer_points, referral.referee_points) == (200, 100)
    assert (referral_points(referrer), referral_points(friend)) == ((0, 200), (0, 100))
    assert Entry.objects.filter(kind=EntryKind.REFERRAL).count() == 4
    told = sorted(m.subject for m in mail.outbox if "You earned" not in m.subject)
    assert [subject.partition(" from ")[0] for subject in told] == [
        "Welcome gift: 100 points",
        "Your friend joined: 200 points for you",
    ]  # the new round is told again (pending points say from when)

    shop(friend, EventType.REFUND, "25.00", "o-2")  # the second order refunded too

    referral.refresh_from_db()
    assert (referral.status, referral.reversals) == (ReferralStatus.REVERSED, 2)
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))


def test_a_fully_refunded_purchase_whose_task_comes_late_does_not_qualify(
    shop, referrer, friend, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the referral task is late
        purchase = shop_quietly(friend, "50.00", "o-1")
    shop(friend, EventType.REFUND, "50.00", "o-1")

    referral_qualify_task.delay(friend.pk, "purchase", "50.00", None, purchase.pk)

    assert Referral.objects.get().status == ReferralStatus.PENDING
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))


# --- after release -------------------------------------------------------------------------


def test_refund_after_release_claws_back_by_default(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    release_all()
    assert (balance(referrer), balance(friend)) == ((200, 0), (150, 0))

    shop(friend, EventType.REFUND, "50.00", "o-1")

    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.REVERSED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))
    assert (balance(referrer), balance(friend)) == ((0, 0), (0, 0))
    assert ledger_offences() == []


def test_refund_after_release_claws_back_what_is_left(shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    release_all()
    points_debit(account=account_for_member(member=referrer), points=150, idempotency_key="spent")

    shop(friend, EventType.REFUND, "50.00", "o-1")

    assert balance(referrer) == (0, 0)  # 50 left to take; 150 spent are forgiven
    assert Referral.objects.get().status == ReferralStatus.REVERSED
    assert ledger_offences() == []


def test_refund_after_release_keeps_the_rewards_when_claw_back_is_off(
    shop, referrer, friend, program
) -> None:
    program.refund_claws_back = False
    program.save()
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    release_all()

    shop(friend, EventType.REFUND, "50.00", "o-1")

    referral = Referral.objects.get()
    assert (referral.status, referral.referrer_points, referral.referee_points) == (
        ReferralStatus.REWARDED,
        200,
        100,
    )
    assert referral.reason == "purchase refunded after the rewards were released; kept"
    assert (referral_points(referrer), referral_points(friend)) == ((200, 0), (100, 0))
    assert (balance(referrer), balance(friend)) == ((200, 0), (100, 0))
    assert reversals() == 0


def test_claw_back_off_still_cancels_pending_rewards(shop, referrer, friend, program) -> None:
    program.refund_claws_back = False
    program.save()
    shop(friend, EventType.PURCHASE, "50.00", "o-1")

    shop(friend, EventType.REFUND, "50.00", "o-1")

    assert Referral.objects.get().status == ReferralStatus.REVERSED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))


# --- what people see --------------------------------------------------------------------


def test_no_rewarded_email_when_the_reward_was_reversed_before_it_went(
    shop, referrer, friend, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the referral task waits
        purchase = shop_quietly(friend, "50.00", "o-1")
    with django_capture_on_commit_callbacks(execute=False) as emails:  # the email task waits
        referral_qualify_task.delay(friend.pk, "purchase", "50.00", None, purchase.pk)
    assert Referral.objects.get().status == ReferralStatus.REWARDED
    shop(friend, EventType.REFUND, "50.00", "o-1")
    mail.outbox.clear()

    for send in emails:  # the email task runs after the reversal
        send()

    assert mail.outbox == []


def test_member_page_and_stats_show_the_reversal(client, shop, referrer, friend) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    shop(friend, EventType.REFUND, "50.00", "o-1")
    client.force_login(referrer)

    html = client.get(reverse("referrals_refer")).content.decode()

    assert "Reversed: purchase refunded" in html
    stats = member_referral_stats(member=referrer)
    assert (stats.signups, stats.qualified, stats.rewarded, stats.points) == (1, 0, 0, 0)
    funnel = program_funnel()
    assert (funnel.signups, funnel.qualified, funnel.rewarded) == (1, 0, 0)


def test_admin_lists_reversed_referrals_and_has_the_claw_back_setting(
    client, shop, referrer, friend
) -> None:
    shop(friend, EventType.PURCHASE, "50.00", "o-1")
    shop(friend, EventType.REFUND, "50.00", "o-1")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = client.get(reverse(CHANGELIST), {"status__exact": "reversed"})
    detail = client.get(reverse(CHANGE, args=[Referral.objects.get().pk]))
    settings_page = client.get(reverse(SETTINGS_CHANGE, args=[1]))

    assert list(listed.context["cl"].result_list) == [Referral.objects.get()]
    assert "Reversed: purchase refunded" in detail.content.decode()
    assert "the qualifying purchase was refunded" in detail.content.decode()
    assert "refund_claws_back" in settings_page.content.decode()


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("fa", "لغو شد: خرید بازپرداخت شد"),
        ("ar", "أُلغيت: تم استرداد الشراء"),
        ("ru", "Отменено: покупка возвращена"),
    ],
)
def test_the_reversed_status_is_translated(language: str, label: str) -> None:
    with translation.override(language):
        assert str(ReferralStatus.REVERSED.label) == label


def test_refund_of_an_imported_qualifying_purchase_reverses_too(
    shop, referrer, friend, django_capture_on_commit_callbacks
) -> None:
    csv = "order_id,member_email,amount,currency,occurred_at\nCSV-1,nina@example.com,50.00,EUR,\n"
    with django_capture_on_commit_callbacks(execute=True):
        events_import(rows=rows_read(io.StringIO(csv)))
    assert Referral.objects.get().status == ReferralStatus.REWARDED

    shop(friend, EventType.REFUND, "50.00", "CSV-1")

    assert Referral.objects.get().status == ReferralStatus.REVERSED
    assert (referral_points(referrer), referral_points(friend)) == ((0, 0), (0, 0))
