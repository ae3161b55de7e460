"""Idempotent demo data: each app contributes through its own ``<app>.demo.seed()``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

LOCAL_APPS = ("accounts", "loyalty", "rewards", "referrals")


class Command(BaseCommand):
    help = "Create demo staff, members and a living club history (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates known passwords; run it with DEBUG=1 or --force.")
        lines: list[str] = []
        for app in apps.get_app_configs():
            if app.name in LOCAL_APPS:
                lines += self._seed_app(app.name)
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Logins:"))
        for line in lines:
            self.stdout.write(f"  {line}")

    def _seed_app(self, name: str) -> list[str]:
        try:
            module = import_module(f"{name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{name}.demo":
                raise
            return []
        return module.seed() or []
