"""Staff-only operations pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from accounts.emails import email_render
from config.email_samples import MARKETING, email_samples, sample_member

LANGUAGES = [code for code, _name in settings.LANGUAGES]


@staff_member_required
def email_preview_index(request: HttpRequest) -> HttpResponse:
    names = sorted(email_samples())
    return render(
        request,
        "staff/email_index.html",
        {"names": names, "languages": LANGUAGES, "marketing": MARKETING},
    )


@staff_member_required
def email_preview(request: HttpRequest, name: str, language: str) -> HttpResponse:
    samples = email_samples()
    if name not in samples or language not in LANGUAGES:
        raise Http404
    context: dict[str, Any] = {"member": sample_member(language), **samples[name]}
    rendered = email_render(template=name, context=context, language=language)
    if request.GET.get("format") == "text":
        body = f"Subject: {rendered.subject}\n\n{rendered.text}"
        return HttpResponse(body, content_type="text/plain; charset=utf-8")
    return HttpResponse(rendered.html)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers fetch on pages without an icon link (the admin, the
    API docs): the club's icon, by its hashed static name (resolved per request, so a
    missing manifest never breaks the URLconf)."""
    return HttpResponseRedirect(static("img/favicon.svg"))
