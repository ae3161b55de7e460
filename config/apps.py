from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """Project-wide pieces: the job schedule, the email preview, operator commands."""

    name = "config"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from config import lookups  # noqa: F401 - registers ``__any``
        from config.input import forms_refuse_hostile_json

        forms_refuse_hostile_json()
