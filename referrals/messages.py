"""The personal note a member adds to an email invite: short, and with no link but the
member's own referral link (the email goes out from the club's address, so it must not
carry anyone's advertising or phishing)."""

from __future__ import annotations

import re

from django.utils.html import strip_tags

# What a personal note needs (the length of a post on most networks).
NOTE_MAX_LENGTH = 280

# A link is anything a mail client would make clickable: a URL with a scheme, a
# ``www.`` address, or a bare domain (``example.com``, ``bit.ly/x``), with or without a path.
LINK = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b(?:[/?#]\S*)?",
    re.IGNORECASE,
)


def _without_links(line: str, *, link: str) -> str:
    kept = LINK.sub(lambda found: found[0] if found[0].startswith(link) else "", line)
    return " ".join(kept.split())


def invite_note_clean(*, message: str, link: str) -> str:
    """``message`` as plain text (markup removed: a tag would otherwise lose its link and
    leave ``<a href='`` behind) without links other than ``link`` (the member's referral
    link, kept), spaces tidied, cut to ``NOTE_MAX_LENGTH`` characters."""
    lines = [_without_links(line, link=link) for line in strip_tags(message).splitlines()]
    return "\n".join(lines).strip()[:NOTE_MAX_LENGTH].strip()
