from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.services.apikeys import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a shop or integration; the key is printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="Who uses the key, e.g. 'Web shop'.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        api_key, raw = api_key_create(name=name)
        self.stdout.write(f"API key for {api_key.name} (prefix {api_key.prefix}):")
        self.stdout.write(raw)
        self.stdout.write(
            "Store it now: it is not shown again. Send it as: Authorization: Api-Key <key>"
        )
