from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """Project-wide pieces: the job schedule, the email preview, operator commands."""

    name = "config"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from config import lookups  # noqa: F401 - registers ``__any``
        from config.sites import site_sync_after_migrate

        post_migrate.connect(site_sync_after_migrate, dispatch_uid="vafa_site_sync")
