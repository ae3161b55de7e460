"""Errors the ledger raises. Each carries a stable ``code`` for the API and a clear message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPoints(LedgerError):
    code = "invalid_points"


class InsufficientPoints(LedgerError):
    code = "insufficient_points"

    def __init__(self, *, available: int, requested: int) -> None:
        super().__init__(
            str(_("Not enough points: %(available)d available, %(requested)d needed."))
            % {"available": available, "requested": requested}
        )
        self.available = available
        self.requested = requested


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(
            str(_("The idempotency key %(key)s was already used for a different operation."))
            % {"key": key}
        )
        self.key = key


class NotReversible(LedgerError):
    code = "not_reversible"


class NotRestorable(LedgerError):
    code = "not_restorable"
