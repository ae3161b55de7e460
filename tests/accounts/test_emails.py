"""Plain-text parts and subjects of emails are not HTML: names arrive as written, while the
HTML part stays escaped. Checked for every email kind and for any new ``*.txt`` template."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.template.loader import render_to_string
from django.utils.formats import date_format

from accounts.emails import email_render
from config.email_samples import email_samples, sample_member

MEMBER = "O'Brien"
ENTITY = "Fish & Chips"
PROGRAM = "Fish & Chips Club"
TEMPLATES_DIR = Path(django_settings.BASE_DIR) / "templates" / "emails"

SUBJECTS = {
    "birthday": "Happy birthday, O'Brien!",
    "campaign_announcement": "New: Fish & Chips",
    "invite": "O'Brien invites you to Fish & Chips Club",
    "points_earned": "42 points on their way, available on {until}",
    "points_expiring": "120 points expire on {day}",
    "redemption": "Your reward: Fish & Chips",
    "referral_rewarded_referee": "Welcome gift: 100 points",
    "referral_rewarded_referrer": "Your friend joined: 200 points for you from {until}",
    "set_password": "Welcome to Fish & Chips Club: set your password",
    "tier_down": "Your tier is now Fish & Chips",
    "tier_up": "Welcome to Fish & Chips!",
    "welcome": "Welcome to Fish & Chips Club",
}
# The kinds whose text names a reward, campaign, tier or the program.
NAMES_AN_ENTITY = {
    "campaign_announcement",
    "invite",
    "redemption",
    "set_password",
    "tier_down",
    "tier_up",
    "welcome",
}


def _rename(value: Any) -> None:
    """Every sample reward, campaign and tier is called ``ENTITY``."""
    if isinstance(value, SimpleNamespace):
        for key, inner in vars(value).items():
            if key == "name":
                setattr(value, key, ENTITY)
            else:
                _rename(inner)


def _context(kind: str) -> dict[str, Any]:
    context = email_samples()[kind]
    for value in context.values():
        _rename(value)
    member = sample_member("en")
    member.first_name = MEMBER
    if "referrer" in context:
        context["referrer"].first_name = MEMBER
    if "friend" in context:
        context["friend"] = MEMBER
    return {**context, "member": member}


def test_every_email_kind_is_covered() -> None:
    kinds = {p.name.removesuffix("_subject.txt") for p in TEMPLATES_DIR.glob("*_subject.txt")}

    assert sorted(email_samples()) == sorted(kinds) == sorted(SUBJECTS)


@pytest.mark.parametrize("kind", sorted(SUBJECTS))
def test_subject_and_text_show_names_verbatim_and_html_escapes_them(kind, settings) -> None:
    settings.PROGRAM_NAME = PROGRAM
    context = _context(kind)

    rendered = email_render(template=kind, context=context, language="en")

    day = date_format(context["day"]) if "day" in context else ""
    until = date_format(context["pending_until"]) if context.get("pending_until") else ""
    assert rendered.subject == SUBJECTS[kind].format(day=day, until=until)
    assert MEMBER in rendered.text
    assert (ENTITY in rendered.text) == (kind in NAMES_AN_ENTITY)
    for entity in ("&#x27;", "&#39;", "&amp;", "&quot;", "&lt;", "&gt;"):
        assert entity not in rendered.subject + rendered.text
    assert "O&#x27;Brien" in rendered.html
    assert (MEMBER in rendered.html, ENTITY in rendered.html) == (False, False)
    assert "Fish &amp; Chips" in rendered.html  # the layout names the program


def test_any_new_text_template_renders_without_autoescape(settings, tmp_path) -> None:
    """A template someone adds later (allauth's ``account/email/...`` included) needs no
    ``{% autoescape off %}`` of its own: its ``.txt`` name is enough."""
    folder = tmp_path / "account" / "email"
    folder.mkdir(parents=True)
    for name in ("brand_new_subject.txt", "brand_new_message.txt", "brand_new_message.html"):
        (folder / name).write_text("{{ member }} likes {{ dish }}")
    engine = {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    settings.TEMPLATES = [engine]
    context = {"member": MEMBER, "dish": ENTITY}

    subject = render_to_string("account/email/brand_new_subject.txt", context)
    text = render_to_string("account/email/brand_new_message.txt", context)
    html = render_to_string("account/email/brand_new_message.html", context)

    assert (subject, text) == ("O'Brien likes Fish & Chips", "O'Brien likes Fish & Chips")
    assert html == "O&#x27;Brien likes Fish &amp; Chips"
