from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClosedMailbox, LoginTrace, User
from accounts.net import ip_hash
from loyalty.models import Entry, EntryKind, EventType
from loyalty.services.earning import EventInput, event_record
from loyalty.services.ledger import account_for_member, account_open
from portal.services import member_delete
from referrals.codes import referral_code_find, referral_code_for
from referrals.models import (
    Attribution,
    Qualification,
    Referral,
    ReferralClick,
    ReferralCode,
    ReferralStatus,
)
from referrals.services import (
    ReferralRefused,
    invites_send,
    program_settings,
    referral_approve,
    referral_attach,
    referral_qualify,
    referral_reject,
    referrals_expire,
)
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
    "accept_terms": "on",
}


@pytest.fixture(autouse=True)
def program(settings):
    settings.RETURN_WINDOW_DAYS = 0
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    program = program_settings()
    program.referrer_points, program.referee_points = 200, 100
    program.qualification = Qualification.FIRST_PURCHASE
    program.min_purchase_amount = Decimal("20")
    program.save()
    return program


@pytest.fixture
def referrer() -> User:
    user = UserFactory(email="rita@example.com", first_name="Rita")
    account_open(member=user)
    return user


def buy(member: User, amount: str, key: str) -> None:
    event_record(
        data=EventInput(
            idempotency_key=key,
            type=EventType.PURCHASE,
            account=account_for_member(member=member),
            occurred_at=timezone.now(),
            amount=Decimal(amount),
            currency="EUR",
            order_id=key,
        )
    )


def referral_points(member: User) -> int:
    return sum(
        Entry.objects.filter(account__member=member, kind=EntryKind.REFERRAL).values_list(
            "points", flat=True
        )
    )


def confirm_email(client) -> None:
    link = re.search(r"(/accounts/confirm-email/[^\s]+/)", mail.outbox[-1].body).group(1)
    client.post(link)


def test_the_whole_path_from_link_to_both_rewarded(
    client, referrer, django_capture_on_commit_callbacks
) -> None:
    code = referral_code_for(member=referrer).code

    landing = client.get(f"/r/{code.lower()}/")
    assert landing.status_code == 200
    assert "Rita invited you" in landing.content.decode()
    assert "vafa_ref" in landing.cookies
    assert ReferralClick.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"), {**SIGNUP, "email": "nina@example.com", "referral_code": ""}
        )
        confirm_email(client)
    friend = User.objects.get(email="nina@example.com")
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee, referral.source) == (referrer, friend, "link")
    assert referral.status == ReferralStatus.PENDING

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        buy(friend, "19.99", "small")  # below the minimum: not yet
    assert Referral.objects.get().status == ReferralStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        buy(friend, "25.00", "first")

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REWARDED
    assert (referral_points(referrer), referral_points(friend)) == (200, 100)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["nina@example.com", "rita@example.com"]


def test_replayed_qualification_never_rewards_twice(referrer) -> None:
    friend = UserFactory()
    referral_attach(referee=friend, code=referral_code_for(member=referrer).code, source="code")

    for _ in range(3):
        referral_qualify(referee_id=friend.pk, trigger="purchase", amount=Decimal("50"))
    with transaction.atomic():
        referral_qualify(referee_id=friend.pk, trigger="purchase", amount=Decimal("99"))

    assert (referral_points(referrer), referral_points(friend)) == (200, 100)
    assert Entry.objects.filter(kind=EntryKind.REFERRAL).count() == 2


def test_typed_code_at_sign_up(client, referrer) -> None:
    code = referral_code_for(member=referrer).code

    client.post(
        reverse("account_signup"),
        {**SIGNUP, "email": "tom@example.com", "referral_code": f" {code.lower()} "},
    )

    referral = Referral.objects.get()
    assert (referral.referee.email, referral.source) == ("tom@example.com", "code")


def test_unknown_typed_code_is_an_error_and_guessing_is_limited(client) -> None:
    responses = [
        client.post(
            reverse("account_signup"),
            {**SIGNUP, "email": f"g{i}@example.com", "referral_code": f"NOPE{i}"},
        )
        for i in range(11)
    ]

    errors = [r.context["form"].errors.get("referral_code", [""])[0] for r in responses]
    assert errors[0] == "This referral code does not exist."
    assert errors[10] == "Too many wrong codes; try again in an hour."
    assert User.objects.count() == 0


def test_attribution_cookie_expires_with_the_window(client, referrer, program) -> None:
    program.attribution_days = 30
    program.save()
    code = referral_code_for(member=referrer).code
    client.get(f"/r/{code}/")

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        client.post(reverse("account_signup"), {**SIGNUP, "email": "late@example.com"})

    assert User.objects.filter(email="late@example.com").exists()
    assert Referral.objects.count() == 0


@pytest.mark.parametrize(
    ("model", "winner"), [(Attribution.FIRST_CLICK, "first"), (Attribution.LAST_CLICK, "second")]
)
def test_first_or_last_click_wins(client, program, model, winner) -> None:
    program.attribution = model
    program.save()
    first, second = UserFactory(first_name="first"), UserFactory(first_name="second")
    client.get(f"/r/{referral_code_for(member=first).code}/")
    client.get(f"/r/{referral_code_for(member=second).code}/")

    client.post(reverse("account_signup"), {**SIGNUP, "email": "new@example.com"})

    assert Referral.objects.get().referrer.first_name == winner


def test_monthly_cap_limits_the_referrer_not_the_friend(referrer, program) -> None:
    program.monthly_cap = 1
    program.save()
    code = referral_code_for(member=referrer).code
    friends = [UserFactory(), UserFactory()]
    for friend in friends:
        referral_attach(referee=friend, code=code, source="code")
        referral_qualify(referee_id=friend.pk, trigger="purchase", amount=Decimal("30"))

    second = Referral.objects.get(referee=friends[1])
    assert referral_points(referrer) == 200
    assert [referral_points(f) for f in friends] == [100, 100]
    assert (second.status, second.referrer_points, second.reason) == (
        ReferralStatus.REWARDED,
        0,
        "monthly cap reached",
    )


def test_signup_qualification_rewards_on_verified_email(
    client, referrer, program, django_capture_on_commit_callbacks
) -> None:
    program.qualification = Qualification.SIGNUP
    program.save()
    client.get(f"/r/{referral_code_for(member=referrer).code}/")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), {**SIGNUP, "email": "v@example.com"})
        assert Referral.objects.get().status == ReferralStatus.PENDING
        confirm_email(client)

    assert Referral.objects.get().status == ReferralStatus.REWARDED


def test_a_person_is_referred_once_and_not_by_themselves(referrer) -> None:
    code = referral_code_for(member=referrer).code
    friend = UserFactory()

    first = referral_attach(referee=friend, code=code, source="code")
    again = referral_attach(
        referee=friend, code=referral_code_for(member=UserFactory()).code, source="code"
    )
    own = referral_attach(referee=referrer, code=code, source="code")

    assert first is not None
    assert (again, own) == (None, None)
    assert Referral.objects.count() == 1


def test_pending_referrals_expire_after_the_deadline(referrer, program) -> None:
    program.qualify_within_days = 10
    program.save()
    friend = UserFactory()
    referral_attach(referee=friend, code=referral_code_for(member=referrer).code, source="code")

    assert referrals_expire(as_of=timezone.now() + timedelta(days=9)) == 0
    assert referrals_expire(as_of=timezone.now() + timedelta(days=11)) == 1
    referral_qualify(referee_id=friend.pk, trigger="purchase", amount=Decimal("100"))
    assert Referral.objects.get().status == ReferralStatus.EXPIRED
    assert referral_points(friend) == 0


# --- fraud checks ----------------------------------------------------------------------


def attach(referrer: User, email: str, ip: str = "") -> Referral:
    friend = UserFactory(email=email)
    return referral_attach(
        referee=friend, code=referral_code_for(member=referrer).code, source="link", ip_hash=ip
    )


def rules(referral: Referral) -> list[str]:
    return [flag["rule"] for flag in referral.flags]


def test_self_referral_by_gmail_alias_goes_to_review() -> None:
    alice = UserFactory(email="alice.smith@gmail.com")

    referral = attach(alice, "AliceSmith+deal@googlemail.com")

    assert referral.status == ReferralStatus.REVIEW
    assert rules(referral) == ["self_referral"]


def test_existing_member_mailbox_goes_to_review(referrer) -> None:
    UserFactory(email="bob@example.com")

    referral = attach(referrer, "bob+2@example.com")

    assert rules(referral) == ["existing_member"]


def test_disposable_domain_goes_to_review(referrer) -> None:
    referral = attach(referrer, "temp@mailinator.com")

    assert rules(referral) == ["disposable_email"]
    assert "mailinator.com is a disposable email domain" in referral.flags[0]["evidence"]


def test_same_network_as_the_referrer_goes_to_review(referrer) -> None:
    LoginTrace.objects.create(user=referrer, ip_hash=ip_hash("203.0.113.7"))

    flagged = attach(referrer, "x@example.com", ip=ip_hash("203.0.113.7"))
    clean = attach(referrer, "y@example.com", ip=ip_hash("198.51.100.9"))

    assert rules(flagged) == ["same_network"]
    assert clean.status == ReferralStatus.PENDING


def test_burst_of_signups_on_one_code_goes_to_review(referrer, program) -> None:
    program.signups_per_hour_limit = 2
    program.save()

    statuses = [attach(referrer, f"burst{i}@example.com").status for i in range(3)]

    assert statuses == [ReferralStatus.PENDING, ReferralStatus.PENDING, ReferralStatus.REVIEW]


def test_a_check_first_firing_at_qualification_sends_to_review(
    referrer, django_capture_on_commit_callbacks
) -> None:
    network = ip_hash("203.0.113.7")
    referral = attach(referrer, "x@example.com", ip=network)
    assert (referral.status, referral.flags) == (ReferralStatus.PENDING, [])
    LoginTrace.objects.create(user=referrer, ip_hash=network)  # later, from the same network

    with django_capture_on_commit_callbacks(execute=True):
        buy(referral.referee, "40.00", "first")

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REVIEW
    assert rules(referral) == ["same_network"]
    assert referral.qualified_at is not None
    assert (referral.rewarded_at, referral.referrer_points, referral.referee_points) == (
        None,
        0,
        0,
    )
    assert (referral_points(referrer), referral_points(referral.referee)) == (0, 0)
    assert mail.outbox == []


def test_flagged_referral_is_not_rewarded_until_approved(referrer) -> None:
    referral = attach(referrer, "temp@mailinator.com")
    referral_qualify(referee_id=referral.referee_id, trigger="purchase", amount=Decimal("40"))
    assert Referral.objects.get().status == ReferralStatus.REVIEW
    assert referral_points(referrer) == 0

    approved = referral_approve(referral=referral, staff=UserFactory(is_staff=True))

    assert approved.status == ReferralStatus.REWARDED
    assert referral_points(referrer) == 200


def test_rejected_referral_never_pays(referrer) -> None:
    referral = attach(referrer, "temp@mailinator.com")
    referral_reject(referral=referral, staff=UserFactory(is_staff=True), reason="disposable")

    referral_qualify(referee_id=referral.referee_id, trigger="purchase", amount=Decimal("40"))

    assert Referral.objects.get().status == ReferralStatus.REJECTED
    assert referral_points(referrer) == 0


def test_approving_before_qualification_waits_for_it(referrer) -> None:
    referral = attach(referrer, "temp@mailinator.com")

    referral_approve(referral=referral, staff=UserFactory(is_staff=True))
    assert Referral.objects.get().status == ReferralStatus.PENDING
    referral_qualify(referee_id=referral.referee_id, trigger="purchase", amount=Decimal("40"))

    assert Referral.objects.get().status == ReferralStatus.REWARDED


# --- invites and codes ---------------------------------------------------------------------


def test_invites_respect_the_daily_limit_and_send_emails(
    referrer, program, django_capture_on_commit_callbacks
) -> None:
    program.invite_daily_limit = 3
    program.save()
    UserFactory(email="member@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        report = invites_send(
            referrer=referrer,
            emails=["a@example.com", "b@example.com", "member@example.com"],
            message="Come along!",
        )
    with pytest.raises(ReferralRefused, match="0 invites are left today"):
        invites_send(referrer=referrer, emails=["c@example.com"], message="")

    assert report.accepted == ["a@example.com", "b@example.com", "member@example.com"]
    assert [m.to for m in mail.outbox] == [["a@example.com"], ["b@example.com"]]
    assert "Come along!" in mail.outbox[0].body
    assert f"/r/{referral_code_for(member=referrer).code}/?i=" in mail.outbox[0].body
    assert mail.outbox[0].reply_to == ["rita@example.com"]


def test_codes_are_unique_in_any_case(referrer) -> None:
    ReferralCode.objects.create(member=UserFactory(), code="SUMMER", is_vanity=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralCode.objects.create(member=UserFactory(), code="summer", is_vanity=True)
    assert referral_code_find(code="Summer").code == "SUMMER"


def test_generated_codes_are_short_readable_and_stable(referrer) -> None:
    code = referral_code_for(member=referrer)

    assert referral_code_for(member=referrer).pk == code.pk
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{7}", code.code)


def test_qr_code_and_unknown_links(client, referrer) -> None:
    code = referral_code_for(member=referrer).code

    qr = client.get(f"/r/{code}/qr.svg")

    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    # A standalone SVG without its namespace is not drawn by browsers (the <img> shows its
    # alt text); tests/browser/test_security_headers.py checks what Chromium renders.
    assert qr.content.startswith(b'<svg xmlns="http://www.w3.org/2000/svg" ')
    assert client.get("/r/NOSUCHCODE/").status_code == 404


def test_a_former_member_coming_back_through_a_link_goes_to_review(referrer) -> None:
    former = UserFactory(email="bob.smith@gmail.com")
    account_open(member=former)
    member_delete(user=former)

    referral = attach(referrer, "Bob.Smith+again@googlemail.com")

    assert rules(referral) == ["existing_member"]
    assert "closed their account" in referral.flags[0]["evidence"]
    assert "bob" not in str(ClosedMailbox.objects.values_list("mailbox_hash", flat=True))
