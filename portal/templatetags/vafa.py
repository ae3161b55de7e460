"""Template helpers for the portal: numbers in the reader's script, entry descriptions."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import translation
from django.utils.formats import number_format

from loyalty.models import Entry
from loyalty.timing import last_valid_day
from portal.descriptions import entry_description

register = template.Library()

DIGITS = {
    "fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
}


def localize_digits(text: str) -> str:
    table = DIGITS.get(translation.get_language() or "")
    return text.translate(table) if table else text


@register.filter
def num(value: object) -> str:
    """``12345`` → ``12,345`` in English, ``۱۲٬۳۴۵`` in Persian, ``12 345`` in Russian."""
    if value is None or value == "":
        return ""
    return localize_digits(number_format(value, use_l10n=True, force_grouping=True))


@register.filter
def signed(value: int) -> str:
    """Points with their sign: ``+120`` / ``−40`` (a real minus sign)."""
    if not value:
        return num(0)
    sign = "+" if value > 0 else "\u2212"
    return f"{sign}{num(abs(value))}"


@register.filter
def digits(value: object) -> str:
    """Any text (a date, a code) with digits in the reader's script."""
    return localize_digits(str(value))


@register.filter
def describe(entry: Entry) -> str:
    """A ledger line in words (see portal.descriptions)."""
    return entry_description(entry)


@register.filter
def valid_through(moment: datetime) -> date:
    """The last day points or a voucher expiring at ``moment`` can still be used."""
    return last_valid_day(moment)
