from __future__ import annotations

from types import ModuleType

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """Project-wide pieces: the job schedule, the email preview, operator commands."""

    name = "config"
    verbose_name = _("Operations")

    def __init__(self, app_name: str, app_module: ModuleType | None) -> None:
        super().__init__(app_name, app_module)
        # Here, not in ready(): the admin's ready() (listed first) builds the admin's forms.
        from config.input import forms_refuse_hostile_json

        forms_refuse_hostile_json()

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from config import lookups  # noqa: F401 - registers ``__any``
        from config.sites import site_sync_after_migrate

        post_migrate.connect(site_sync_after_migrate, dispatch_uid="vafa_site_sync")
