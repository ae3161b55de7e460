"""The rewards app's invariants, run by ``manage.py verify_ledger`` with the ledger's own
(registered from ``RewardsConfig.ready``; loyalty knows nothing of rewards)."""

from __future__ import annotations

from loyalty.verification import ledger_check_register

CHECKS: dict[str, tuple[str, str]] = {
    "used_voucher_not_refunded": (
        "a voucher was used at a shop but its redemption was cancelled and the points given "
        "back (paid twice)",
        """
        SELECT v.id, v.code, v.status, v.used_order_id, r.id, r.status, r.restore_entry_id
        FROM rewards_voucher v JOIN rewards_redemption r ON r.id = v.redemption_id
        WHERE (v.status = 'used' OR v.used_at IS NOT NULL OR v.used_order_id <> '')
          AND (r.status = 'cancelled' OR r.restore_entry_id IS NOT NULL)
        """,
    ),
}


def rewards_checks_register() -> None:
    for name, (description, sql) in CHECKS.items():
        ledger_check_register(name=name, description=description, sql=sql)
