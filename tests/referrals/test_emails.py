"""Referral emails say how the friend came and whether the points are pending, and until
when, in the member's language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import User
from loyalty.services.ledger import account_open
from referrals.codes import referral_code_for
from referrals.services import invites_send, program_settings, referral_attach, referral_qualify
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture(autouse=True)
def program(settings):
    settings.TIME_ZONE = "UTC"
    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    program = program_settings()
    program.referrer_points, program.referee_points = 200, 100
    program.qualification = "signup"
    program.save()
    return program


def member(email: str, name: str, language: str = "en") -> User:
    user = UserFactory(email=email, first_name=name, language=language)
    account_open(member=user)
    return user


def refer(capture, *, source: str, language: str = "en", invite_id: int | None = None):
    rita = member("rita@example.com", "Rita", language)
    nina = member("nina@example.com", "Nina", language)
    code = referral_code_for(member=rita).code
    with capture(execute=True):
        if source == "invite":
            invites_send(referrer=rita, emails=["nina.friend@example.com"], message="")
            invite_id = rita.invites_sent.get().pk
            mail.outbox.clear()
        referral_attach(referee=nina, code=code, source=source, invite_id=invite_id)
        referral_qualify(referee_id=nina.pk, trigger="email_verified")
    return {m.to[0]: m for m in mail.outbox}


def test_pending_referral_points_say_they_are_pending_and_from_when(
    django_capture_on_commit_callbacks,
) -> None:
    sent = refer(django_capture_on_commit_callbacks, source="link")

    referrer, referee = sent["rita@example.com"], sent["nina@example.com"]
    assert referrer.subject == "Your friend joined: 200 points for you from June 15, 2026"
    assert (
        "Nina joined with your link. You will receive 200 points. The points are pending "
        "until the return window has passed and become available on June 15, 2026."
    ) in referrer.body
    assert "You earned" not in referrer.body
    assert referee.subject == "Welcome gift: 100 points from June 15, 2026"
    assert (
        "Thanks for joining with a friend's link. You will receive 100 points. The points are "
        "pending until the return window has passed and become available on June 15, 2026."
    ) in referee.body
    assert "available on June 15, 2026" in referrer.alternatives[0][0]


def test_points_paid_at_once_say_earned_and_the_wording_follows_a_typed_code(
    program, django_capture_on_commit_callbacks
) -> None:
    program.rewards_pending = False
    program.save()

    sent = refer(django_capture_on_commit_callbacks, source="code")

    referrer, referee = sent["rita@example.com"], sent["nina@example.com"]
    assert referrer.subject == "Your friend joined: 200 points for you"
    assert "Nina joined with your code. You earned 200 points." in referrer.body
    assert referee.subject == "Welcome gift: 100 points"
    assert "Thanks for joining with a friend's code. You earned 100 points." in referee.body
    assert "pending" not in referrer.body + referee.body


def test_a_friend_who_came_by_invite_is_said_to_have_come_by_invite(
    django_capture_on_commit_callbacks,
) -> None:
    sent = refer(django_capture_on_commit_callbacks, source="invite")

    assert "Nina joined through your invite." in sent["rita@example.com"].body
    assert "Thanks for joining through a friend's invite." in sent["nina@example.com"].body


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        (
            "fa",
            "دوستتان عضو شد: 200 امتیاز برای شما از 15 ژوئن 2026",
            "Nina با پیوند شما عضو شد. 200 امتیاز دریافت خواهید کرد. این امتیازها تا پایان "
            "مهلت مرجوعی در انتظارند و از 15 ژوئن 2026 قابل استفاده می‌شوند.",
        ),
        (
            "ar",
            "انضم صديقك: 200 نقطة لك اعتبارًا من 15 يونيو، 2026",
            "انضم Nina عبر رابطك. ستحصل على 200 نقطة. النقاط معلّقة حتى انتهاء فترة الإرجاع، "
            "وتصبح متاحة في 15 يونيو، 2026.",
        ),
        (
            "ru",
            "Ваш друг в клубе: 200 баллов для вас с 15 июня 2026 г.",
            "Nina теперь в клубе по вашей ссылке. Вы получите 200 баллов. С 15 июня 2026 г. "
            "баллы станут доступны: до тех пор они ожидают окончания срока возврата.",
        ),
    ],
)
def test_referral_emails_are_in_the_members_language_with_a_local_date(
    language, subject, sentence, django_capture_on_commit_callbacks
) -> None:
    sent = refer(django_capture_on_commit_callbacks, source="link", language=language)

    referrer = sent["rita@example.com"]
    assert referrer.subject == subject
    assert sentence in referrer.body
