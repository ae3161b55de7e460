"""The points-earned email says whether the points are pending and from which day."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from loyalty.services.earning import EventInput, event_record
from loyalty.services.ledger import account_open
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import EarningRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def earn(capture, *, language: str, event_type: str = "purchase", return_days: int = 14):
    member = UserFactory(first_name="Sara", language=language, email_points_earned=True)
    account = account_open(member=member)
    data = {"amount": Decimal("42"), "currency": "EUR", "order_id": "1042"}
    if event_type != "purchase":
        data = {}
    with capture(execute=True):
        event_record(
            data=EventInput(
                idempotency_key="k1", type=event_type, account=account, occurred_at=NOW, **data
            )
        )
    return mail.outbox[0]


@pytest.fixture(autouse=True)
def _rules(settings) -> None:
    settings.TIME_ZONE = "UTC"
    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1"))
    EarningRuleFactory(event_type="review", points=25, points_per_unit=Decimal("0"))


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        (
            "en",
            "42 points on their way, available on June 15, 2026",
            "Your purchase 1042 will give you 42 points. The points are pending until the "
            "return window has passed and become available on June 15, 2026.",
        ),
        (
            "fa",
            "42 امتیاز در راه است، قابل استفاده از 15 ژوئن 2026",
            "خرید 1042 به شما 42 امتیاز می‌دهد. این امتیازها تا پایان مهلت مرجوعی در انتظارند "
            "و از 15 ژوئن 2026 قابل استفاده می‌شوند.",
        ),
        (
            "ar",
            "42 نقطة في الطريق، متاحة في 15 يونيو، 2026",
            "ستمنحك عملية الشراء 1042 42 نقطة. النقاط معلّقة حتى انتهاء فترة الإرجاع، وتصبح "
            "متاحة في 15 يونيو، 2026.",
        ),
        (
            "ru",
            "42 балла в пути, будут доступны 15 июня 2026 г.",
            "Ваша покупка 1042 принесёт вам 42 балла. С 15 июня 2026 г. баллы станут доступны: "
            "до тех пор они ожидают окончания срока возврата.",
        ),
    ],
)
def test_pending_purchase_points_say_pending_and_the_day_in_the_members_language(
    language, subject, sentence, django_capture_on_commit_callbacks
) -> None:
    email = earn(django_capture_on_commit_callbacks, language=language)

    assert email.subject == subject
    assert sentence in email.body
    assert sentence in email.alternatives[0][0]


def test_points_available_at_once_say_earned(django_capture_on_commit_callbacks) -> None:
    email = earn(django_capture_on_commit_callbacks, language="en", event_type="review")

    assert email.subject == "You earned 25 points"
    assert "You earned 25 points." in email.body
    assert "pending" not in email.body
