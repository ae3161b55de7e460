"""The Site row says example.com until something sets it: set its domain from SITE_URL and
its name from PROGRAM_NAME (every later ``migrate`` sets it again, see config/sites.py)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations


def site_from_settings(apps, schema_editor):
    values = {"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.PROGRAM_NAME}
    apps.get_model("sites", "Site").objects.using(schema_editor.connection.alias).update_or_create(
        pk=settings.SITE_ID, defaults=values
    )


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0004_marketing_vanity_codes"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(site_from_settings, migrations.RunPython.noop)]
