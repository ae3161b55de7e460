"""The member page in the back office (reached from the user's admin page)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from config.backoffice.member import member_360

MEMBER_PAGE_PERMISSIONS = ("accounts.view_user", "loyalty.view_account")


def member_360_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff with the view permissions on users and points accounts (the admin site's
    ``admin_view`` wrapper has already sent everyone else to the admin login)."""
    if not request.user.has_perms(MEMBER_PAGE_PERMISSIONS):
        raise PermissionDenied
    page = member_360(member_id=pk)
    context = {
        **admin.site.each_context(request),
        "title": _("Member: %(email)s") % {"email": page.member.email},
        "page": page,
        "member": page.member,
        "ledger": page.ledger,
        "referrals": page.referrals,
    }
    return TemplateResponse(request, "admin/member_360.html", context)
