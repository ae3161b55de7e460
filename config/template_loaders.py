"""Template loaders that render every ``*.txt`` template with autoescape off.

Plain-text emails and their subjects (``emails/*.txt``, ``emails/*_subject.txt``, allauth's
``account/email/*.txt``) are not HTML: a member called O'Brien must read "O'Brien", not
``O&#x27;Brien``. Rather than trusting each template to open with ``{% autoescape off %}``,
these loaders wrap the source of every ``.txt`` template in that block when they read it, so
a new text template gets it by its name alone. HTML templates are untouched and stay escaped.

A ``.txt`` template that ``{% extends %}`` another is left as it is (``extends`` must come
first); its blocks are rendered inside its parent, which is wrapped when it is ``.txt`` too.

A fragment included by both a ``.txt`` and an ``.html`` email is named ``.html``: an include
inherits its parent's escaping (off in the text part, on in the HTML part), whereas a
``.txt`` fragment would always be unescaped, also inside HTML.
"""

from __future__ import annotations

import re

from django.template import Origin
from django.template.loaders import app_directories, filesystem

PLAIN_TEXT_SUFFIX = ".txt"
_EXTENDS = re.compile(r"\{%-?\s*extends\s")


def plain_text_source(*, name: str, contents: str) -> str:
    """The source to compile: ``.txt`` templates wrapped in ``{% autoescape off %}``."""
    if not name.endswith(PLAIN_TEXT_SUFFIX) or _EXTENDS.search(contents):
        return contents
    return f"{{% autoescape off %}}{contents}{{% endautoescape %}}"


class FilesystemLoader(filesystem.Loader):
    def get_contents(self, origin: Origin) -> str:
        return plain_text_source(name=origin.name, contents=super().get_contents(origin))


class AppDirectoriesLoader(app_directories.Loader):
    def get_contents(self, origin: Origin) -> str:
        return plain_text_source(name=origin.name, contents=super().get_contents(origin))
