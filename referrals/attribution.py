"""Who brought a new member: a code typed at sign-up wins, else the signed attribution
cookie set when a referral link was opened (first or last click, within the window). A
typed code that is the cookie's own code counts as the link (or invite) it came from."""

from __future__ import annotations

import time
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse

from accounts.models import User
from accounts.net import request_ip_hash
from referrals.models import Attribution, ProgramSettings, Referral
from referrals.services import program_settings, referral_attach

COOKIE = "vafa_ref"
SALT = "vafa.referral"


def attribution_read(request: HttpRequest, program: ProgramSettings) -> dict[str, Any] | None:
    max_age = program.attribution_days * 86400
    try:
        value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=max_age)
        return signing.loads(value)
    except (KeyError, signing.BadSignature, ValueError):
        return None


def attribution_write(
    response: HttpResponse,
    request: HttpRequest,
    program: ProgramSettings,
    *,
    code: str,
    invite_id: int | None,
) -> None:
    """Set the cookie, unless first-click attribution keeps an earlier one."""
    if program.attribution == Attribution.FIRST_CLICK and attribution_read(request, program):
        return
    value = signing.dumps({"code": code, "at": int(time.time()), "invite": invite_id})
    response.set_signed_cookie(
        COOKIE,
        value,
        salt=SALT,
        max_age=program.attribution_days * 86400,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def _source(*, typed: str, cookie: dict[str, Any]) -> tuple[str, str, int | None]:
    """``(code, source, invite id)``. A typed code wins over the cookie, unless it is the
    cookie's own code: then the visit it came from (link or invite) is kept."""
    cookie_code = cookie.get("code", "")
    if typed and typed.upper() != cookie_code.upper():
        return typed, "code", None
    invite_id = cookie.get("invite")
    return cookie_code, "invite" if invite_id else "link", invite_id


def referral_signup_from_request(*, request: HttpRequest | None, referee: User) -> Referral | None:
    if request is None:
        return None
    typed = (request.POST.get("referral_code") or "").strip()
    cookie = attribution_read(request, program_settings()) or {}
    code, source, invite_id = _source(typed=typed, cookie=cookie)
    if not code:
        return None
    return referral_attach(
        referee=referee,
        code=code,
        source=source,
        ip_hash=request_ip_hash(request),
        invite_id=invite_id,
    )
