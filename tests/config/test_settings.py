"""Settings are read once at import, so each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "broker": settings.CELERY_BROKER_URL, "result": settings.CELERY_RESULT_BACKEND,
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION", ""),
    "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS, "tz": settings.TIME_ZONE,
    "email": settings.EMAIL_BACKEND, "site": settings.SITE_URL,
    "club": [settings.CLUB_NAME, settings.PROGRAM_NAME],
}))
"""


def _clean_env(**overrides: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **overrides)
    return env


def _settings(tmp_path: Path, **overrides: str) -> dict[str, object]:
    env = _clean_env(VAFA_VAR_DIR=str(tmp_path), **overrides)
    out = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "Vafa Club"),
        ({"CLUB_NAME": "Café Ravand"}, "Café Ravand"),
        ({"PROGRAM_NAME": "Older Name"}, "Older Name"),
        ({"CLUB_NAME": "Café Ravand", "PROGRAM_NAME": "Older Name"}, "Café Ravand"),
    ],
)
def test_the_club_name_comes_from_club_name(tmp_path: Path, env: dict, name: str) -> None:
    assert _settings(tmp_path, DEBUG="1", **env)["club"] == [name, name]


def test_embedded_default_is_sqlite_and_filesystem_broker(tmp_path: Path) -> None:
    values = _settings(tmp_path, DEBUG="1")

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "vafa.sqlite3")
    assert values["broker"] == "filesystem://localhost/"
    assert values["result"] == f"file://{tmp_path / 'celery' / 'results'}"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["email"] == "django.core.mail.backends.console.EmailBackend"
    assert (tmp_path / "celery" / "queue").is_dir()


def test_postgres_url_and_redis_url_switch_database_broker_and_cache(tmp_path: Path) -> None:
    values = _settings(
        tmp_path,
        DEBUG="1",
        DATABASE_URL="postgres://shop:pw@db.internal:5433/vafa",
        REDIS_URL="redis://cache.internal:6379/0",
    )

    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["host"]) == ("vafa", "db.internal")
    assert values["broker"] == "redis://cache.internal:6379/0"
    assert values["result"] == "redis://cache.internal:6379/0"
    assert values["cache"] == "config.cache.ResilientRedisCache"
    assert values["cache_location"] == "redis://cache.internal:6379/1"


def test_production_values_come_from_the_environment(tmp_path: Path) -> None:
    values = _settings(
        tmp_path,
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="club.example.com,www.club.example.com",
        TIME_ZONE="Asia/Tehran",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
        SITE_URL="https://club.example.com/",
    )

    assert values["debug"] is False
    assert values["hosts"] == ["club.example.com", "www.club.example.com"]
    assert values["tz"] == "Asia/Tehran"
    assert values["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["site"] == "https://club.example.com"


def test_secret_key_is_required_without_debug(tmp_path: Path) -> None:
    env = _clean_env(VAFA_VAR_DIR=str(tmp_path))
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("flag", ["--deploy"])
def test_check_deploy_is_clean_with_production_env(tmp_path: Path, flag: str) -> None:
    env = _clean_env(
        VAFA_VAR_DIR=str(tmp_path),
        DEBUG="0",
        SECRET_KEY="k3y-" + "q8Zr5vN0pL2xW7tY" * 4,
        ALLOWED_HOSTS="club.example.com",
        SITE_URL="https://club.example.com",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", flag, "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout
