"""What a shop may send for numbers (issue 15), as DRF fields every API body shares.

Python is lenient: ``int("١٠٠")`` is 100, ``Decimal("1_000")`` is 1000, and ``"１００"`` (full
width) is a number too. A shop sends an id as a JSON integer or a string of ASCII digits,
and an amount as a JSON number or an ASCII decimal string (``"12.50"``) with at most
``MONEY_DECIMAL_PLACES`` decimals; anything else is a field error.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.input import ascii_id

ASCII_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, or a string of ASCII digits; never a bool, ``²`` or ``١٠٠``."""

    default_error_messages = {"invalid": _("A valid integer is required (ASCII digits).")}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (isinstance(data, str) and ascii_id(data) is None):
            self.fail("invalid")
        if not isinstance(data, int | str):
            self.fail("invalid")
        return super().to_internal_value(data)


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
