from __future__ import annotations

from loyalty.errors import LedgerError


class RewardRefused(LedgerError):
    """A redemption, cancellation or voucher use that cannot happen; nothing was written."""

    def __init__(self, message: str, *, code: str, status: int = 409, field: str = "") -> None:
        super().__init__(message)
        self.code, self.status, self.field = code, status, field
