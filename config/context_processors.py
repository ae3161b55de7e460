from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Values every page needs: the public site address and the program name."""
    return {"SITE_URL": settings.SITE_URL, "PROGRAM_NAME": settings.PROGRAM_NAME}
