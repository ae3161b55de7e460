from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from loyalty.services.ledger import account_open
from referrals.codes import referral_code_for
from referrals.models import Referral, ReferralStatus
from referrals.selectors import mask_email, member_referral_stats, program_funnel
from referrals.services import invites_send, program_settings, referral_attach, referral_qualify
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _program(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    program_settings()


@pytest.fixture
def referrer():
    user = UserFactory(first_name="Rita")
    account_open(member=user)
    return user


def test_refer_page_shows_link_qr_stats_and_masked_friends(client, referrer) -> None:
    code = referral_code_for(member=referrer).code
    friend = UserFactory(email="nina.park@example.com")
    referral_attach(referee=friend, code=code, source="code")
    client.force_login(referrer)

    page = client.get(reverse("referrals_refer"))

    html = page.content.decode()
    assert page.status_code == 200
    assert f"http://127.0.0.1:8000/r/{code}/" in html
    assert reverse("referral_qr", args=[code]) in html
    assert "n•••k@example.com" in html
    assert "nina.park@example.com" not in html
    assert "https://wa.me/?text=" in html


def _share_hrefs(html: str) -> dict[str, str]:
    found = re.findall(r'data-share="(\w+)"[^>]*? href="([^"]+)"', html)
    return {name: unescape(href) for name, href in found}


def test_share_buttons_start_from_an_editable_message_with_the_link(client, referrer) -> None:
    code = referral_code_for(member=referrer).code
    link = f"http://127.0.0.1:8000/r/{code}/"
    message = (
        "Hi! I collect points at Vafa Club and thought you would like it too. Join with my link "
        f"and we both get bonus points: {link}"
    )
    client.force_login(referrer)

    html = client.get(reverse("referrals_refer")).content.decode()

    box = re.search(r"<textarea id=\"share-message\"([^>]*)>([^<]*)</textarea>", html)
    assert 'data-share-link="' + link + '"' in box[1]
    assert unescape(box[2]) == message
    assert '<label class="form-label" for="share-message">Message to share</label>' in html
    assert "js/share.js" in html
    hrefs = _share_hrefs(html)
    assert hrefs["whatsapp"] == f"https://wa.me/?text={quote(message)}"
    assert hrefs["x"] == f"https://x.com/intent/post?text={quote(message)}"
    assert hrefs["email"] == f"mailto:?subject=Vafa%20Club&body={quote(message)}"
    assert hrefs["facebook"] == f"https://www.facebook.com/sharer/sharer.php?u={quote(link)}"
    without_link = message.removesuffix(f" {link}")
    assert hrefs["telegram"] == (
        f"https://t.me/share/url?url={quote(link)}&text={quote(without_link)}"
    )
    telegram = parse_qs(urlsplit(hrefs["telegram"]).query)
    assert (telegram["url"], link in telegram["text"][0]) == ([link], False)  # the link once


def test_a_staff_message_without_the_link_still_carries_it(client, referrer) -> None:
    program = program_settings()
    program.invite_message = "Come and collect points with me at {program}!"
    program.save()
    code = referral_code_for(member=referrer).code
    client.force_login(referrer)

    html = client.get(reverse("referrals_refer")).content.decode()

    link = f"http://127.0.0.1:8000/r/{code}/"
    assert f"Come and collect points with me at Vafa Club! {link}</textarea>" in html
    assert _share_hrefs(html)["whatsapp"].endswith(quote(f"Vafa Club! {link}"))


def test_telegram_button_has_aa_contrast(client, referrer) -> None:
    client.force_login(referrer)

    html = client.get(reverse("referrals_refer")).content.decode()

    assert "btn-info" not in html
    assert 'class="btn btn-sm btn-telegram"' in html


def test_refer_page_needs_sign_in(client) -> None:
    response = client.get(reverse("referrals_refer"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_invite_form_sends_and_reports(
    client, referrer, django_capture_on_commit_callbacks
) -> None:
    client.force_login(referrer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("referrals_refer"),
            {"emails": "a@example.com, b@example.com", "message": "Join me!"},
            follow=True,
        )

    assert "Invitations sent: 2 addresses accepted." in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]


def test_invite_form_refuses_bad_addresses_and_the_limit(client, referrer) -> None:
    program = program_settings()
    program.invite_daily_limit = 1
    program.save()
    client.force_login(referrer)

    bad = client.post(reverse("referrals_refer"), {"emails": "a@example.com nope", "message": "x"})
    over = client.post(
        reverse("referrals_refer"), {"emails": "a@example.com b@example.com", "message": "x"}
    )

    assert "Not an email address: nope" in bad.content.decode()
    assert "You can invite 1 friends a day; 1 invites are left today." in over.content.decode()
    assert mail.outbox == []


def test_member_stats_and_program_funnel(
    client, referrer, django_capture_on_commit_callbacks
) -> None:
    code = referral_code_for(member=referrer).code
    for _ in range(4):
        client.get(f"/r/{code}/")
    with django_capture_on_commit_callbacks(execute=True):
        invites_send(referrer=referrer, emails=["x@example.com", "y@example.com"], message="")
    friends = [UserFactory() for _ in range(2)]
    for friend in friends:
        referral_attach(referee=friend, code=code, source="link")
    referral_qualify(referee_id=friends[0].pk, trigger="purchase", amount=Decimal("100"))

    stats = member_referral_stats(member=referrer)
    funnel = program_funnel()

    assert (stats.clicks, stats.signups, stats.qualified, stats.rewarded, stats.points) == (
        4,
        2,
        1,
        1,
        200,
    )
    assert (funnel.clicks, funnel.signups, funnel.qualified, funnel.rewarded) == (4, 2, 1, 1)
    assert funnel.conversion == 0.25
    # 3 members (referrer + 2 friends), 2 invites sent, 1 link visitor (4 clicks from the
    # test client's one address), 2 sign-ups by link: K = 3/3 × 2/3 = 2/3.
    assert (funnel.invites, funnel.link_visitors, funnel.members) == (2, 1, 3)
    assert funnel.k_factor == pytest.approx(2 / 3)


def test_mask_email() -> None:
    assert mask_email("anna.smith@example.com") == "a•••h@example.com"
    assert mask_email("jo@example.com") == "j•••@example.com"


def test_review_needs_the_permission_both_ways(client, referrer) -> None:
    flagged = referral_attach(
        referee=UserFactory(email="t@mailinator.com"),
        code=referral_code_for(member=referrer).code,
        source="link",
    )
    assert flagged.status == ReferralStatus.REVIEW
    url = reverse("admin:referrals_referral_changelist")
    action = {"action": "approve", "_selected_action": [flagged.pk]}

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_referral"))
    client.force_login(viewer)
    client.post(url, action)
    assert Referral.objects.get().status == ReferralStatus.REVIEW

    viewer.user_permissions.add(Permission.objects.get(codename="review_referral"))
    client.post(url, action)
    assert Referral.objects.get().status == ReferralStatus.PENDING
    assert Referral.objects.get().approved


def test_a_referral_held_in_review_shows_as_in_review_not_qualified(client, referrer) -> None:
    code = referral_code_for(member=referrer).code
    me_again = UserFactory(email=referrer.email.replace("@", "+again@"))
    held = referral_attach(referee=me_again, code=code, source="link")
    referral_qualify(referee_id=me_again.pk, trigger="purchase", amount=Decimal("100"))
    friend = UserFactory()
    referral_attach(referee=friend, code=code, source="code")
    referral_qualify(referee_id=friend.pk, trigger="purchase", amount=Decimal("100"))
    client.force_login(referrer)

    html = client.get(reverse("referrals_refer")).content.decode()

    held.refresh_from_db()
    assert (held.status, held.qualified_at is not None) == (ReferralStatus.REVIEW, True)
    assert '<dt class="col-6">Joined</dt><dd class="col-6">2</dd>' in html
    assert '<dt class="col-6">In review</dt><dd class="col-6">1</dd>' in html
    assert '<dt class="col-6">Qualified</dt><dd class="col-6">1</dd>' in html
    stats = member_referral_stats(member=referrer)
    assert (stats.signups, stats.in_review, stats.qualified, stats.rewarded) == (2, 1, 1, 1)
