from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.management.commands._jobs import add_job_arguments
from loyalty.services.expiry import points_expire


class Command(BaseCommand):
    help = "Expire points whose lots reached their expiry (set-based, in batches, idempotent)."

    def add_arguments(self, parser: Any) -> None:
        add_job_arguments(parser)

    def handle(self, *args: Any, as_of: Any, dry_run: bool, batch_size: int, **opts: Any) -> None:
        report = points_expire(as_of=as_of, dry_run=dry_run, batch_size=batch_size)
        verb = "would expire" if dry_run else "expired"
        self.stdout.write(
            f"{verb} {report.points} points in {report.lots} lots of {report.accounts} accounts"
        )
