"""The ledger's invariants as set-based queries (``manage.py verify_ledger``).

Each check is one SQL statement over every account, lot or entry and returns the
offenders (the per-lot checks share one statement); an empty result means the invariant
holds. See ARCHITECTURE.md, "The points
ledger", and docs/ledger.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

ENTRY_SUMS = """
SELECT account_id,
    SUM(points) AS available,
    SUM(pending_points) AS pending,
    SUM(CASE WHEN kind IN ('earn', 'bonus', 'referral', 'reversal')
              OR (kind = 'adjust' AND points + pending_points > 0)
        THEN points + pending_points ELSE 0 END) AS lifetime
FROM loyalty_entry GROUP BY account_id
"""
LOT_SUMS = """
SELECT account_id,
    SUM(CASE WHEN state = 'available' THEN remaining ELSE 0 END) AS available,
    SUM(CASE WHEN state = 'pending' THEN remaining ELSE 0 END) AS pending
FROM loyalty_lot GROUP BY account_id
"""

# Every lot with what its entries and allocations say about it, in one pass over the
# entries (the per-lot checks below share it; a second GROUP BY over a million entries
# would double verify_ledger's time). The credit that opened a lot is its one entry of the
# lot's kind (the entries that follow a lot are releases, expiries and reversals); its
# ``lot_expires_at`` and ``lot_available_at`` are NULL on rows older than those columns
# (then not compared). Expiry entries are dated at the lot's expiry and release entries at
# its availability (the release job writes them so), which proves both on older rows once
# the lot has expired or been released. Per-row equality tests, counted, keep it fast
# (MIN/MAX of text would sort by collation).
ENTRY_MISMATCH = """CASE WHEN e.account_id <> l.account_id THEN 1
    WHEN e.kind = l.kind THEN CASE WHEN e.points + e.pending_points <> l.points
                                     OR e.lot_expires_at <> l.expires_at
                                     OR e.lot_available_at <> l.available_at THEN 1 END
    WHEN e.kind = 'expire' THEN CASE WHEN e.occurred_at <> l.expires_at THEN 1 END
    WHEN e.kind = 'release' THEN CASE WHEN e.occurred_at <> l.available_at THEN 1 END END"""
LOT_COLUMNS = (
    "l.id, l.account_id, l.kind, l.points, l.remaining, l.expired, l.available_at, l.expires_at"
)
LOT_ENTRIES = f"""
SELECT {LOT_COLUMNS},
    COALESCE(SUM(e.points + e.pending_points), 0) AS entered,
    COALESCE(SUM(CASE WHEN e.kind = 'expire' THEN -e.points END), 0) AS expire_total,
    COUNT(CASE WHEN e.kind = l.kind THEN 1 END) AS credits,
    COUNT({ENTRY_MISMATCH}) AS mismatches
FROM loyalty_lot l LEFT JOIN loyalty_entry e ON e.lot_id = l.id
GROUP BY {LOT_COLUMNS}
"""
LOT_FACTS = f"""
SELECT f.*, f.entered - COALESCE(a.total, 0) AS history
FROM ({LOT_ENTRIES}) f
LEFT JOIN (SELECT lot_id, SUM(points) AS total FROM loyalty_allocation GROUP BY lot_id) a
    ON a.lot_id = f.id
"""
# name: (description, condition on LOT_FACTS, columns reported)
LOT_CHECKS: dict[str, tuple[str, str, str]] = {
    "lot_matches_its_history": (
        "a lot's remaining points differ from its entries minus what debits took from it",
        "remaining <> history",
        "id, remaining, history",
    ),
    "lot_matches_its_credit": (
        "a lot's account, kind, points, availability or expiry differ from the one credit "
        "entry that opened it (or it has none, or several), or an entry of the lot is on "
        "another account, or released or expired it at another time",
        "credits <> 1 OR mismatches <> 0",
        "id, account_id, kind, points, available_at, expires_at, credits, mismatches",
    ),
    "expiry_takes_each_point_once": (
        "a lot's expired total differs from the sum of its expiry entries",
        "expired <> expire_total",
        "id, expired, expire_total",
    ),
}


def _lot_checks_sql() -> str:
    flags = ", ".join(f"CASE WHEN {cond} THEN 1 ELSE 0 END" for _d, cond, _c in LOT_CHECKS.values())
    columns = ", ".join(cols for _d, _cond, cols in LOT_CHECKS.values())
    where = " OR ".join(f"({cond})" for _d, cond, _c in LOT_CHECKS.values())
    return f"SELECT {flags}, {columns} FROM ({LOT_FACTS}) f WHERE {where}"


CHECKS: dict[str, tuple[str, str]] = {
    "balance_matches_entries": (
        "account balance, pending or lifetime points differ from the sum of its entries",
        f"""
        SELECT a.id, a.balance, a.pending, a.lifetime_earned,
            COALESCE(e.available, 0), COALESCE(e.pending, 0), COALESCE(e.lifetime, 0)
        FROM loyalty_account a LEFT JOIN ({ENTRY_SUMS}) e ON e.account_id = a.id
        WHERE a.balance <> COALESCE(e.available, 0) OR a.pending <> COALESCE(e.pending, 0)
           OR a.lifetime_earned <> COALESCE(e.lifetime, 0)
        """,
    ),
    "balance_matches_lots": (
        "account balance or pending differ from the points remaining in its lots",
        f"""
        SELECT a.id, a.balance, a.pending, COALESCE(l.available, 0), COALESCE(l.pending, 0)
        FROM loyalty_account a LEFT JOIN ({LOT_SUMS}) l ON l.account_id = a.id
        WHERE a.balance <> COALESCE(l.available, 0) OR a.pending <> COALESCE(l.pending, 0)
        """,
    ),
    "balance_not_negative": (
        "an account has negative available or pending points",
        "SELECT id, balance, pending FROM loyalty_account WHERE balance < 0 OR pending < 0",
    ),
    "lot_remaining_in_range": (
        "a lot's remaining points are outside 0..points, or a closed lot still holds points",
        """
        SELECT id, points, remaining, state FROM loyalty_lot
        WHERE remaining < 0 OR remaining > points
           OR (state IN ('expired', 'reversed') AND remaining <> 0)
        """,
    ),
    "debit_matches_allocations": (
        "a debit or restore does not match the points it took from or gave back to lots",
        """
        SELECT e.id, e.points, COALESCE(a.total, 0) FROM loyalty_entry e
        LEFT JOIN (SELECT entry_id, SUM(points) AS total FROM loyalty_allocation
                   GROUP BY entry_id) a ON a.entry_id = e.id
        WHERE e.lot_id IS NULL AND COALESCE(a.total, 0) <> -e.points
        """,
    ),
    "expired_lot_never_spent": (
        "a debit took points from a lot at or after that lot's expiry",
        """
        SELECT a.id, a.entry_id, a.lot_id FROM loyalty_allocation a
        JOIN loyalty_entry e ON e.id = a.entry_id JOIN loyalty_lot l ON l.id = a.lot_id
        WHERE a.points > 0 AND l.expires_at <= e.occurred_at
        """,
    ),
    "pending_never_spent": (
        "points were taken from a lot that is still pending",
        """
        SELECT a.id, a.entry_id, a.lot_id FROM loyalty_allocation a
        JOIN loyalty_lot l ON l.id = a.lot_id WHERE l.state = 'pending'
        """,
    ),
    "idempotency_key_unique": (
        "an idempotency key has more than one entry",
        """
        SELECT idempotency_key, COUNT(*) FROM loyalty_entry
        GROUP BY idempotency_key HAVING COUNT(*) > 1
        """,
    ),
}

LIABILITY = """
SELECT kind, COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(pending_points), 0)
FROM loyalty_entry GROUP BY kind ORDER BY kind
"""


@dataclass(frozen=True)
class Offence:
    check: str
    description: str
    row: tuple


def _plain(row: tuple) -> tuple:
    """PostgreSQL sums bigints as numeric; show whole numbers as ints."""
    return tuple(int(v) if isinstance(v, Decimal) else v for v in row)


def ledger_check_register(*, name: str, description: str, sql: str) -> None:
    """Add a check from an app built on the ledger (rewards, referrals): loyalty knows
    nothing of them, they register their own invariants here from ``AppConfig.ready``."""
    CHECKS[name] = (description, sql)


def ledger_enforced_by_database() -> bool:
    """Whether the database itself refuses edits of entries, allocations and lots' fixed
    columns (PostgreSQL triggers, loyalty migrations 0002 and 0014); SQLite does not."""
    return connection.vendor == "postgresql"


def ledger_offences(*, limit: int = 100) -> list[Offence]:
    """Run every check; return up to ``limit`` offending rows per check."""
    offences: list[Offence] = []
    with connection.cursor() as cursor:
        for name, (description, sql) in CHECKS.items():
            cursor.execute(f"{sql} LIMIT {int(limit)}")
            offences += [Offence(name, description, _plain(row)) for row in cursor.fetchall()]
        cursor.execute(_lot_checks_sql())
        offences += _lot_offences(cursor.fetchall(), limit=limit)
    return offences


def _lot_offences(rows: list[tuple], *, limit: int) -> list[Offence]:
    """Split the rows of the shared per-lot query into each check's offences."""
    offences: list[Offence] = []
    width = len(LOT_CHECKS)
    start = width
    for i, (name, (description, _cond, columns)) in enumerate(LOT_CHECKS.items()):
        end = start + len(columns.split(","))
        hits = [_plain(row[start:end]) for row in rows if row[i]][:limit]
        offences += [Offence(name, description, hit) for hit in hits]
        start = end
    return offences


def ledger_liability() -> dict[str, object]:
    """Points issued and taken per kind, and the total the program owes its members."""
    with connection.cursor() as cursor:
        cursor.execute(LIABILITY)
        by_kind = {row[0]: _plain(row[1:]) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(pending), 0) FROM loyalty_account"
        )
        balance, pending = _plain(cursor.fetchone())
    return {"by_kind": by_kind, "outstanding": balance, "pending": pending}
