"""Client addresses: taken from trusted proxies only, and kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address. ``X-Forwarded-For`` counts only for the ``TRUSTED_PROXY_COUNT``
    proxies we run ourselves; a client cannot choose its address by sending the header."""
    proxies = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def ip_hash(address: str) -> str:
    """A keyed hash of an address: comparable between events, useless to anyone without
    the secret key, and never the address itself."""
    key = hashlib.sha256(f"vafa-ip:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def request_ip_hash(request: HttpRequest) -> str:
    return ip_hash(client_ip(request))
