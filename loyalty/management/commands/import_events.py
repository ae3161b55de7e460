from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.services.imports import events_import, rows_read


class Command(BaseCommand):
    help = (
        "Import purchases from a CSV file with the columns order_id, member_email (or "
        "member_id), amount, currency and optionally occurred_at and idempotency_key. "
        "Idempotent by order id; bad rows are reported with their line numbers."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args: Any, file: Path, chunk_size: int, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        with file.open(newline="", encoding="utf-8-sig") as stream:
            report = events_import(rows=rows_read(stream), chunk_size=chunk_size)
        self.stdout.write(
            f"imported {report.imported} purchases ({report.points} points), "
            f"skipped {report.skipped} already recorded, refused {len(report.errors)} rows"
        )
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} rows were refused; the others were imported")
