"""The invite form: no membership oracle, every address counts, a short personal note."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from referrals.codes import referral_code_for
from referrals.messages import invite_note_clean
from referrals.models import Invite
from referrals.selectors import referral_link
from referrals.services import invites_send, program_settings
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

CSRF = re.compile(r"[A-Za-z0-9]{64}")  # the CSRF token, masked afresh on every page


@pytest.fixture
def referrer():
    return UserFactory(email="rita@example.com", first_name="Rita")


@pytest.fixture
def limit():
    def set_limit(n: int) -> None:
        program = program_settings()
        program.invite_daily_limit = n
        program.save()

    return set_limit


def invite(client, capture, emails: str, message: str = "Join me!"):
    with capture(execute=True):
        response = client.post(
            reverse("referrals_refer"), {"emails": emails, "message": message}, follow=True
        )
    return response.status_code, CSRF.sub("", response.content.decode())


def test_a_member_address_and_a_new_address_get_the_same_answer_and_both_count(
    client, referrer, limit, django_capture_on_commit_callbacks
) -> None:
    limit(2)
    UserFactory(email="boss@example.com", is_staff=True)
    client.force_login(referrer)

    member = invite(client, django_capture_on_commit_callbacks, "boss@example.com")
    friend = invite(client, django_capture_on_commit_callbacks, "new.friend@example.com")
    over = invite(client, django_capture_on_commit_callbacks, "third@example.com")

    assert member == friend
    assert member[0] == 200
    assert "Invitations sent: 1 address accepted." in member[1]
    assert "member" not in member[1].split("Invitations sent")[1][:200]
    assert [m.to for m in mail.outbox] == [["new.friend@example.com"]]
    assert "You can invite 2 friends a day; 0 invites are left today." in over[1]
    assert Invite.objects.filter(referrer=referrer).count() == 2


def test_a_batch_with_members_counts_every_address_and_mails_only_newcomers(
    referrer, limit, django_capture_on_commit_callbacks
) -> None:
    limit(10)
    UserFactory(email="Sara.K@gmail.com")

    with django_capture_on_commit_callbacks(execute=True):
        report = invites_send(
            referrer=referrer,
            emails=["sarak+club@gmail.com", "rita@example.com", "omid@example.com"],
            message="",
        )

    assert report.accepted == ["sarak+club@gmail.com", "rita@example.com", "omid@example.com"]
    assert [m.to for m in mail.outbox] == [["omid@example.com"]]
    assert Invite.objects.filter(referrer=referrer).count() == 3


def test_the_note_keeps_only_the_members_own_link(
    client, referrer, django_capture_on_commit_callbacks
) -> None:
    link = referral_link(code=referral_code_for(member=referrer))
    client.force_login(referrer)
    note = (
        f"Win a prize at https://evil.example/win or www.spam.example!\n"
        f"Join with {link} — see bit.ly/x3 too"
    )

    invite(client, django_capture_on_commit_callbacks, "friend@example.com", note)

    expected = f"Win a prize at or\nJoin with {link} — see too"
    assert Invite.objects.get().message == expected
    body = mail.outbox[0].body
    assert expected in body
    assert "evil.example" not in body
    assert "bit.ly" not in body


def test_a_note_longer_than_280_characters_is_refused(
    client, referrer, django_capture_on_commit_callbacks
) -> None:
    client.force_login(referrer)

    status, page = invite(client, django_capture_on_commit_callbacks, "f@example.com", "x" * 281)

    assert status == 200
    assert "Ensure this value has at most 280 characters (it has 281)." in page
    assert (Invite.objects.count(), mail.outbox) == (0, [])


def test_the_form_says_what_the_note_may_hold(client, referrer) -> None:
    client.force_login(referrer)

    page = client.get(reverse("referrals_refer")).content.decode()

    assert "Up to 280 characters. Links are removed, except your own referral link." in page
    assert 'maxlength="280"' in page


def test_staff_can_turn_personal_messages_off(
    client, referrer, django_capture_on_commit_callbacks
) -> None:
    program = program_settings()
    program.personal_messages = False
    program.save()
    client.force_login(referrer)

    page = client.get(reverse("referrals_refer")).content.decode()
    invite(client, django_capture_on_commit_callbacks, "f@example.com", "Buy my stuff!")

    assert 'name="message"' not in page
    assert Invite.objects.get().message == ""
    assert "Buy my stuff" not in mail.outbox[0].body
    assert "Rita thinks you would like Vafa Club, our free loyalty club." in mail.outbox[0].body


def test_note_cleaning() -> None:
    link = "https://club.example/r/ABCDEFG/"

    assert invite_note_clean(message="Hi!  see example.com/a ok", link=link) == "Hi! see ok"
    assert invite_note_clean(message=f"Mine: {link}.", link=link) == f"Mine: {link}."
    assert invite_note_clean(message="ftp://x.example y", link=link) == "y"
    assert len(invite_note_clean(message="a " * 400, link=link)) == 279
    # markup is not left behind half-stripped: the note is plain text
    html = "Hi <a href='http://evil.example'>click</a> my <b>link</b>"
    assert invite_note_clean(message=html, link=link) == "Hi click my link"
