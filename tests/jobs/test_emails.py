from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.emails import email_render
from config.email_samples import MARKETING, email_samples, sample_member
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

LANGUAGES = {"en": "ltr", "fa": "rtl", "ar": "rtl", "ru": "ltr"}
# One phrase per language from the shared layout's footer: the email really is localized.
FOOTER = {
    "en": "You receive this email because you are a member of our loyalty club.",
    "fa": "عضو",
    "ar": "عضو",
    "ru": "участник",
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("name", sorted(email_samples()))
def test_every_email_renders_in_every_language(name: str, language: str) -> None:
    context = {"member": sample_member(language), **email_samples()[name]}

    rendered = email_render(template=name, context=context, language=language)

    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.text.strip()
    assert f'<html lang="{language}" dir="{LANGUAGES[language]}">' in rendered.html
    assert "{%" not in rendered.html + rendered.text
    assert "http://127.0.0.1:8000/" in rendered.text + rendered.html  # absolute links
    if name != "invite":
        assert FOOTER[language] in rendered.html
    if name in MARKETING:
        assert "/unsubscribe/" in rendered.html
        assert "/unsubscribe/" in rendered.text


def test_persian_email_is_written_in_persian() -> None:
    context = {"member": sample_member("fa"), **email_samples()["birthday"]}

    rendered = email_render(template="birthday", context=context, language="fa")

    assert "Happy birthday" not in rendered.subject
    assert "Sara" in rendered.subject


def test_preview_is_for_staff_only(client) -> None:
    url = reverse("email_preview", args=["tier_up", "ar"])

    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(is_staff=True))
    index = client.get(reverse("email_preview_index"))
    page = client.get(url)
    text = client.get(url + "?format=text")

    assert index.status_code == 200
    assert "campaign_announcement" in index.content.decode()
    assert 'dir="rtl"' in page.content.decode()
    assert text["Content-Type"].startswith("text/plain")
    assert client.get(reverse("email_preview", args=["nope", "en"])).status_code == 404
