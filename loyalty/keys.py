"""Ledger idempotency keys derived from a shop's key (issue 15).

A shop's key may be up to 255 characters, the column of every key too; ``event:{key}:{part}``
would overflow it. A derived key that does not fit names the shop's key by its SHA-256
instead, after ``{prefix}#`` (never ``{prefix}:``, so it cannot meet a key a shop sent):
deterministic, so a replay finds the same entries, and distinct for distinct keys.
"""

from __future__ import annotations

import hashlib

MAX_KEY_LENGTH = 255


def entry_key(prefix: str, key: str, part: str = "") -> str:
    """``{prefix}:{key}[:{part}]``, or ``{prefix}#{sha256(key)}[:{part}]`` if that is too long."""
    tail = f":{part}" if part else ""
    derived = f"{prefix}:{key}{tail}"
    if len(derived) <= MAX_KEY_LENGTH:
        return derived
    digest = hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()
    return f"{prefix}#{digest}{tail}"
