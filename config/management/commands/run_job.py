from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from config.jobs import SCHEDULE, job_runners
from loyalty.management.commands._jobs import as_of_argument


class Command(BaseCommand):
    help = "Run a scheduled job now, in this process, optionally as of another time."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("job", choices=sorted(SCHEDULE), help="The job to run.")
        parser.add_argument(
            "--as-of",
            type=as_of_argument,
            default=None,
            help="ISO date or date-time (default: now; a date = its midnight).",
        )

    def handle(self, *args: Any, job: str, as_of: Any, **options: Any) -> None:
        result = job_runners()[job](as_of)
        self.stdout.write(f"{job}: {SCHEDULE[job].description} → {result}")
