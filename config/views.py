"""Staff-only operations pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

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
