"""The analytics page as an entry on the admin index (for those who may see it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from config.models import Analytics


@admin.register(Analytics)
class AnalyticsAdmin(admin.ModelAdmin):
    """No table behind it: the list link leads to the analytics page."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("config.view_analytics")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("config.view_analytics")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        info = (self.opts.app_label, self.opts.model_name)
        redirect = self.admin_site.admin_view(self.changelist_view)
        return [path("", redirect, name="{}_{}_changelist".format(*info))]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("analytics"))
