"""What a shop may send for numbers (issue 15), as DRF fields every API body shares.

Python is lenient: ``int("١٠٠")`` is 100, ``Decimal("1_000")`` is 1000, and ``"１００"`` (full
width) is a number too. A shop sends an id as a JSON integer or a string of ASCII digits,
an amount as a JSON number or an ASCII decimal string (``"12.50"``) with at most
``MONEY_DECIMAL_PLACES`` decimals, and a date or a date and time as ISO 8601 text in ASCII
(``datetime.fromisoformat`` takes ``"２０２６-12-04"`` too); anything else is a field error.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.input import ascii_id

ASCII_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")


class StrictIntegerField(serializers.IntegerField):
    """An id: a JSON integer or a string of 1 to 18 ASCII digits, parsed by ``ascii_id``;
    never a bool, ``-1``, ``²``, ``١٠٠`` or 20 digits."""

    default_error_messages = {"invalid": _("An id is a whole number of 1 to 18 ASCII digits.")}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        parsed = ascii_id(str(data))
        if parsed is None:
            self.fail("invalid")
        return super().to_internal_value(parsed)


class MoneyField(serializers.DecimalField):
    """A JSON number or an ASCII decimal string such as ``"12.50"``; not ``"1_000"``,
    ``"١٠٠"``, ``"1e3"``, a bool, a list or an object."""

    default_error_messages = {
        "invalid": _('A number is required: a JSON number or a string such as "12.50".')
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        if isinstance(data, str) and not ASCII_DECIMAL.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    """ISO 8601 in ASCII only (``2026-12-04T10:00:00Z``); not full-width or Arabic-Indic digits."""

    default_error_messages = {
        "ascii": _(
            "Enter a date and time in ISO 8601 with ASCII digits, such as 2026-12-04T10:00:00Z."
        )
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            self.fail("ascii")
        return super().to_internal_value(value)


class StrictDateField(serializers.DateField):
    """ISO 8601 in ASCII only (``1990-01-02``); not full-width or Arabic-Indic digits."""

    default_error_messages = {
        "ascii": _("Enter a date in ISO 8601 with ASCII digits, such as 1990-01-02.")
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            self.fail("ascii")
        return super().to_internal_value(value)
