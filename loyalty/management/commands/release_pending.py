from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.management.commands._jobs import add_job_arguments
from loyalty.services.expiry import pending_release


class Command(BaseCommand):
    help = "Make pending points available once their return window has closed."

    def add_arguments(self, parser: Any) -> None:
        add_job_arguments(parser)

    def handle(self, *args: Any, as_of: Any, dry_run: bool, batch_size: int, **opts: Any) -> None:
        report = pending_release(as_of=as_of, dry_run=dry_run, batch_size=batch_size)
        verb = "would release" if dry_run else "released"
        self.stdout.write(
            f"{verb} {report.points} points in {report.lots} lots of {report.accounts} accounts"
        )
