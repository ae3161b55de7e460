"""Limits on unknown voucher codes, against guessing (docs/api.md, Throttling).

Only misses count, in sliding windows of ``VOUCHER_MISS_WINDOW`` seconds: per API key
(``VOUCHER_MISSES_PER_KEY``) and, when the shop names its end customer in the
``Vafa-Customer-IP`` header, per key and customer (``VOUCHER_MISSES_PER_CUSTOMER``). Over a
limit every lookup in that scope is refused, valid codes too (otherwise the answer would
still tell a guesser which codes exist). The header can only narrow a refusal to one
customer: the per-key limit holds whatever it says."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request

from config.ratelimit import sliding_hit, sliding_wait

CUSTOMER_HEADER = "HTTP_VAFA_CUSTOMER_IP"
IPV6_PREFIX = 64  # one IPv6 customer usually holds a whole /64


def _customer(request: Request) -> str:
    """The end customer's IP as the shop forwarded it (an IPv6 address as its /64), or ""."""
    try:
        address = ipaddress.ip_address(request.META.get(CUSTOMER_HEADER, "").strip())
    except ValueError:
        return ""
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def _limits(request: Request) -> dict[str, int]:
    key_id = request.auth.pk
    limits = {f"voucher-miss:key:{key_id}": settings.VOUCHER_MISSES_PER_KEY}
    if customer := _customer(request):
        scope = f"voucher-miss:customer:{key_id}:{customer}"
        limits[scope] = settings.VOUCHER_MISSES_PER_CUSTOMER
    return limits


def voucher_guess_check(*, request: Request) -> None:
    """Refuse the lookup (429) while its key or customer is over the limit of misses."""
    wait = sliding_wait(limits=_limits(request), seconds=settings.VOUCHER_MISS_WINDOW)
    if wait:
        raise exceptions.Throttled(wait=wait, detail=_("Too many unknown voucher codes."))


def voucher_miss_count(*, request: Request) -> None:
    sliding_hit(keys=list(_limits(request)), seconds=settings.VOUCHER_MISS_WINDOW)
