"""The Site row that allauth and others read follows SITE_URL and PROGRAM_NAME."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.sites.models import Site
from django.core.management import call_command

from config.sites import site_check

pytestmark = pytest.mark.django_db


def test_migrated_database_has_the_site_from_settings(settings) -> None:
    site = Site.objects.get(pk=settings.SITE_ID)

    assert (site.domain, site.name) == (urlsplit(settings.SITE_URL).netloc, settings.PROGRAM_NAME)
    assert site.domain != "example.com"
    assert site_check(databases=["default"]) == []


def test_check_warns_when_the_settings_changed(settings) -> None:
    settings.SITE_URL = "https://club.vafa.test"
    settings.PROGRAM_NAME = "Fish & Chips Club"

    warnings = site_check(databases=["default"])

    assert [w.id for w in warnings] == ["vafa.W001"]
    assert "club.vafa.test" in warnings[0].msg


def test_migrate_updates_the_site_after_the_settings_changed(settings) -> None:
    settings.SITE_URL = "https://club.vafa.test"
    settings.PROGRAM_NAME = "Fish & Chips Club"

    call_command("migrate", verbosity=0)

    site = Site.objects.get_current()
    assert (site.domain, site.name) == ("club.vafa.test", "Fish & Chips Club")
    assert site_check(databases=["default"]) == []
