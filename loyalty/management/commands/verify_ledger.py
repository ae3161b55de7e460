from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from loyalty.verification import (
    ledger_enforced_by_database,
    ledger_liability,
    ledger_offences,
)

NOT_ENFORCED = (
    "note: this database ({vendor}) does not enforce the append-only ledger: entries, "
    "allocations and lots can be edited in place, and only these checks would notice. "
    "Production runs on PostgreSQL, whose triggers refuse such edits."
)


class Command(BaseCommand):
    help = "Check every ledger invariant for every account; exit non-zero on any offence."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=100, help="Offenders listed per check.")

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        if not ledger_enforced_by_database():
            self.stdout.write(self.style.WARNING(NOT_ENFORCED.format(vendor=connection.vendor)))
        offences = ledger_offences(limit=limit)
        liability = ledger_liability()
        for kind, (count, points, pending) in liability["by_kind"].items():
            self.stdout.write(
                f"  {kind:<9} {count:>10} entries {points:>+14} available {pending:>+12} pending"
            )
        self.stdout.write(
            f"outstanding: {liability['outstanding']} available, {liability['pending']} pending"
        )
        for offence in offences:
            self.stderr.write(f"{offence.check}: {offence.description}: {offence.row}")
        if offences:
            raise CommandError(f"ledger is NOT consistent: {len(offences)} offending rows")
        self.stdout.write(self.style.SUCCESS("ledger is consistent: every invariant holds"))
