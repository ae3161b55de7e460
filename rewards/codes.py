"""Voucher codes: 50 bits of randomness in an alphabet without look-alike characters
(no 0/O, 1/I/L), grouped for reading: ``7KQ4M-XW9TD``."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols, none easy to confuse
LENGTH = 10  # 31**10 ≈ 2**49.5
GROUP = 5


def voucher_code_new() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def voucher_code_normalize(code: str) -> str:
    """Read a code as a cashier might type it: any case, with or without spaces/dashes."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:GROUP]}-{raw[GROUP:]}" if len(raw) == LENGTH else raw
