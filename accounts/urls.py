from __future__ import annotations

from django.urls import path

from accounts.views import LanguageSwitchView

urlpatterns = [
    path("language/", LanguageSwitchView.as_view(), name="set_language"),
]
