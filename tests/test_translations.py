"""Every user-facing string exists in Persian, Arabic and Russian, and the compiled
catalogues match the committed .po files."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("fa", "ar", "ru")
ENTRY_LINE = re.compile(r"(msgid_plural|msgid|msgctxt|msgstr(?:\[(\d+)\])?) (\".*\")$")
SKIP = {"tests", "bench"}
SOURCE_DIRS = (
    *sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name not in SKIP),
    "templates",
)


def _unquote(line: str) -> str:
    return line.strip()[1:-1].encode("raw_unicode_escape").decode("unicode_escape")


def po_entries(path: Path) -> list[dict[str, object]]:
    """A small .po reader: msgid, msgid_plural, msgstr / msgstr[n] and the fuzzy flag."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {"strs": {}, "fuzzy": False}
    field = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if "msgid" in current:
                entries.append(current)
            current, field = {"strs": {}, "fuzzy": False}, None
        elif line.startswith("#,"):
            current["fuzzy"] = "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif match := ENTRY_LINE.match(line):
            name, index, text = match.groups()
            field = ("msgstr", int(index or 0)) if name.startswith("msgstr") else name
            _set(current, field, _unquote(text))
        elif line.startswith('"') and field is not None:
            _set(current, field, _get(current, field) + _unquote(line))
    return entries


def _set(entry: dict[str, object], field: object, value: str) -> None:
    if isinstance(field, tuple):
        entry["strs"][field[1]] = value  # type: ignore[index]
    else:
        entry[field] = value  # type: ignore[index]


def _get(entry: dict[str, object], field: object) -> str:
    if isinstance(field, tuple):
        return entry["strs"][field[1]]  # type: ignore[index]
    return entry[field]  # type: ignore[index]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_compiled(language: str) -> None:
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    entries = [e for e in po_entries(folder / "django.po") if e["msgid"]]
    catalogue = gettext.GNUTranslations((folder / "django.mo").open("rb"))

    assert len(entries) > 50
    for entry in entries:
        strs = entry["strs"]
        assert not entry["fuzzy"], entry["msgid"]
        assert all(strs.values()), f"untranslated in {language}: {entry['msgid']!r}"
        key = entry["msgid"]
        if "msgctxt" in entry:
            key = f"{entry['msgctxt']}\x04{key}"
        if "msgid_plural" in entry:
            assert catalogue.ngettext(key, entry["msgid_plural"], 1) in strs.values()
        else:
            assert catalogue.gettext(key) == strs[0], f"{language}.mo is stale: run make messages"


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs GNU gettext (xgettext)")
def test_no_string_is_missing_from_the_catalogues(tmp_path: Path) -> None:
    for name in (*SOURCE_DIRS, "locale", "manage.py"):
        source = ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, tmp_path / name)
    env = {**os.environ, "DEBUG": "1", "VAFA_VAR_DIR": str(tmp_path / "var")}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fa", "--no-obsolete", "--no-location"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )

    fresh = {e["msgid"] for e in po_entries(tmp_path / "locale/fa/LC_MESSAGES/django.po")}
    committed = {e["msgid"] for e in po_entries(ROOT / "locale/fa/LC_MESSAGES/django.po")}
    assert fresh - committed == set(), "new strings: run make messages and translate them"
