"""Rendering and sending member emails: HTML and plain text on one shared layout, in the
member's language, with absolute links from ``SITE_URL``. Sending happens in Celery tasks
enqueued after commit, never inside a request's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def email_render(*, template: str, context: dict[str, Any], language: str) -> RenderedEmail:
    """Render ``emails/<template>_subject.txt``, ``.txt`` and ``.html`` in ``language``."""
    with translation.override(language):
        full = {
            **context,
            "SITE_URL": settings.SITE_URL,
            "PROGRAM_NAME": settings.PROGRAM_NAME,
            "LANGUAGE_CODE": language,
            "LANGUAGE_BIDI": translation.get_language_bidi(),
        }
        subject = render_to_string(f"emails/{template}_subject.txt", full).strip()
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=render_to_string(f"emails/{template}.txt", full).strip() + "\n",
            html=render_to_string(f"emails/{template}.html", full),
        )


def email_send(
    *,
    user: User,
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    rendered = email_render(
        template=template, context={"member": user, **context}, language=user.language
    )
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers=headers or {},
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send()
