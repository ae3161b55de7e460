from __future__ import annotations

import io
import re
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView

from accounts.net import request_ip_hash
from config.input import ascii_id
from referrals.attribution import attribution_write
from referrals.codes import referral_code_find, referral_code_for
from referrals.forms import ReferralSignupForm
from referrals.messages import NOTE_MAX_LENGTH
from referrals.models import DEFAULT_INVITE_MESSAGE, Qualification
from referrals.selectors import member_referral_stats, member_referrals, referral_link
from referrals.services import ReferralRefused, click_record, invites_send, program_settings

MAX_EMAILS_PER_SUBMIT = 20


def invite_message(*, member: Any, link: str) -> str:
    """The ready-made message a member can copy or edit (staff set the template). It always
    carries the personal link: a staff template without ``{link}`` gets it appended."""
    values = {"program": settings.PROGRAM_NAME, "link": link, "name": member.display_name}
    template = program_settings().invite_message
    try:
        message = (
            template.format_map(values)
            if template
            else str(DEFAULT_INVITE_MESSAGE).format_map(values)
        )
    except (KeyError, IndexError, ValueError, AttributeError):
        message = str(DEFAULT_INVITE_MESSAGE).format_map(values)
    return message if link in message else f"{message} {link}"


def without_link(*, message: str, link: str) -> str:
    """The message minus the link, for Telegram, whose share page adds the link itself
    (static/js/share.js does the same in the browser)."""
    lines = message.replace(link, "").splitlines()
    return "\n".join(" ".join(line.split()) for line in lines).strip()


class LandingView(TemplateView):
    """``/r/<code>/``: count the click, remember who invited, and invite to sign up."""

    template_name = "referrals/landing.html"

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        found = referral_code_find(code=code)
        if found is None:
            raise Http404(_("This invite link is not valid."))
        invite = request.GET.get("i", "")
        invite_id = ascii_id(invite)
        click_record(code=found, ip_hash=request_ip_hash(request), invite_id=invite_id)
        program = program_settings()
        # The field stays empty: the signed cookie carries the link (source, invite, first
        # click); a code pre-filled here would come back as a typed one and override it.
        form = ReferralSignupForm()
        context = self.get_context_data(
            code=found,
            program=program,
            form=form,
            on_purchase=program.qualification == Qualification.FIRST_PURCHASE,
        )
        response = self.render_to_response(context)
        attribution_write(response, request, program, code=found.code, invite_id=invite_id)
        return response


class QrCodeView(View):
    """An SVG QR code of a member's referral link (scalable, prints sharply)."""

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        found = referral_code_find(code=code)
        if found is None:
            raise Http404
        # A standalone SVG needs its xmlns (``svg_inline`` leaves it out): without it the
        # browser shows the <img>'s alt text instead of the code.
        svg = io.BytesIO()
        segno.make(referral_link(code=found), error="m").save(
            svg, kind="svg", scale=8, border=2, xmldecl=False
        )
        response = HttpResponse(svg.getvalue(), content_type="image/svg+xml")
        response["Cache-Control"] = "public, max-age=86400"
        return response


class InviteForm(forms.Form):
    emails = forms.CharField(
        label=gettext_lazy("Friends' email addresses"),
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "ana@example.com, omid@example.com"}
        ),
        help_text=gettext_lazy("Separate addresses with commas, spaces or new lines."),
    )
    message = forms.CharField(
        label=gettext_lazy("Your message"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=format_lazy(
            gettext_lazy("Up to {n} characters. Links are removed, except your own referral link."),
            n=NOTE_MAX_LENGTH,
        ),
    )

    def __init__(self, *args: Any, personal_messages: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not personal_messages:
            del self.fields["message"]  # staff turned personal messages off

    def clean_emails(self) -> list[str]:
        emails = [e for e in re.split(r"[\s,;]+", self.cleaned_data["emails"]) if e]
        if len(emails) > MAX_EMAILS_PER_SUBMIT:
            raise forms.ValidationError(
                _("At most %(n)d addresses at once.") % {"n": MAX_EMAILS_PER_SUBMIT}
            )
        bad = []
        for email in emails:
            try:
                validate_email(email)
            except forms.ValidationError:
                bad.append(email)
        if bad:
            raise forms.ValidationError(
                _("Not an email address: %(list)s") % {"list": ", ".join(bad)}
            )
        return emails


class ReferFriendsView(LoginRequiredMixin, TemplateView):
    template_name = "referrals/refer.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member = self.request.user
        code = referral_code_for(member=member)
        link = referral_link(code=code)
        message = invite_message(member=member, link=link)
        context.update(
            code=code,
            link=link,
            share_message=message,
            telegram_text=without_link(message=message, link=link),
            program=program_settings(),
            stats=member_referral_stats(member=member),
            referrals=member_referrals(member=member),
            form=kwargs.get("form") or self._form(initial={"message": message[:NOTE_MAX_LENGTH]}),
        )
        return context

    def _form(self, **kwargs: Any) -> InviteForm:
        return InviteForm(personal_messages=program_settings().personal_messages, **kwargs)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self._form(data=request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            report = invites_send(
                referrer=request.user,
                emails=form.cleaned_data["emails"],
                message=form.cleaned_data.get("message", ""),
            )
        except ReferralRefused as refusal:
            form.add_error(None, refusal.message)
            return self.render_to_response(self.get_context_data(form=form))
        count = len(report.accepted)
        messages.success(
            request,
            ngettext(
                "Invitations sent: %(count)d address accepted.",
                "Invitations sent: %(count)d addresses accepted.",
                count,
            )
            % {"count": count},
        )
        return redirect("referrals_refer")
