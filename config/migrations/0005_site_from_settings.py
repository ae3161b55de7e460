"""The Site row says example.com until something sets it: set its domain from SITE_URL and
its name from PROGRAM_NAME (every later ``migrate`` sets it again, see config/sites.py)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.color import no_style
from django.db import migrations


def site_from_settings(apps, schema_editor):
    values = {"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.PROGRAM_NAME}
    site = apps.get_model("sites", "Site")
    alias = schema_editor.connection.alias
    _, created = site.objects.using(alias).update_or_create(pk=settings.SITE_ID, defaults=values)
    if created:  # inserted with an explicit id: move PostgreSQL's sequence past it
        for sql in schema_editor.connection.ops.sequence_reset_sql(no_style(), [site]):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0004_marketing_vanity_codes"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(site_from_settings, migrations.RunPython.noop)]
