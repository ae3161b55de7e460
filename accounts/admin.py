from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.managers import email_canonical, email_normalize
from accounts.models import User
from accounts.services import user_consent_apply


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("-date_joined",)
    list_display = (
        "email",
        "first_name",
        "last_name",
        "language",
        "is_staff",
        "is_active",
        "date_joined",
    )
    list_filter = (
        "is_staff",
        "is_superuser",
        "is_active",
        "language",
        "marketing_consent",
        "groups",
    )
    search_fields = ("email", "first_name", "last_name", "phone")
    readonly_fields = ("date_joined", "last_login", "marketing_consent_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Member profile"),
            {"fields": ("first_name", "last_name", "birthday", "phone", "language")},
        ),
        (_("Consent"), {"fields": ("marketing_consent", "marketing_consent_at")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        obj.email = email_normalize(obj.email)
        obj.email_canonical = email_canonical(obj.email)
        if "marketing_consent" in form.changed_data:
            consent = obj.marketing_consent
            obj.marketing_consent = not consent
            user_consent_apply(user=obj, consent=consent)
        super().save_model(request, obj, form, change)
