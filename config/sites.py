"""The ``django.contrib.sites`` row follows the settings: its domain comes from ``SITE_URL``
and its name from ``PROGRAM_NAME``. allauth and other packages read the Site; left alone it
says ``example.com``. A data migration sets it once, every ``migrate`` sets it again (so a
changed environment is picked up at the next deploy), and a system check warns when the row
and the settings disagree."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.management.color import no_style
from django.db import DatabaseError, connections, transaction


def site_values() -> dict[str, str]:
    """The Site's domain and name as the settings want them."""
    return {"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.PROGRAM_NAME}


def site_sync(*, using: str = "default") -> None:
    """Create or update the ``SITE_ID`` row from the settings."""
    from django.contrib.sites.models import Site

    with transaction.atomic(using=using):
        _, created = Site.objects.using(using).update_or_create(
            pk=settings.SITE_ID, defaults=site_values()
        )
        if created:
            site_sequence_reset(model=Site, using=using)
    Site.objects.clear_cache()


def site_sequence_reset(*, model: Any, using: str) -> None:
    """A row inserted with an explicit id leaves PostgreSQL's sequence behind: the next
    Site created without an id would collide with it (Django's own default-site creation
    resets it the same way)."""
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), [model])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def site_sync_after_migrate(*, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` receiver: runs once per migrated app, acts for the sites app only."""
    app_config = kwargs.get("app_config")
    if app_config is None or app_config.label == "sites":
        site_sync(using=using)


@checks.register(checks.Tags.database)
def site_check(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Warn when the Site row disagrees with ``SITE_URL`` / ``PROGRAM_NAME`` (runs with
    ``manage.py check --database default`` and before ``migrate``)."""
    from django.contrib.sites.models import Site

    if not databases:
        return []
    wanted = site_values()
    try:
        found = Site.objects.filter(pk=settings.SITE_ID).values("domain", "name").first()
    except DatabaseError:
        return []  # not migrated yet: the migration and post_migrate will set it
    if found == wanted:
        return []
    return [
        checks.Warning(
            f"The Site row is {found!r}, the settings say {wanted!r}: emails and allauth "
            "pages would show the wrong address or name.",
            hint="Run `manage.py migrate` (it sets the Site from SITE_URL and PROGRAM_NAME).",
            id="vafa.W001",
        )
    ]
