from __future__ import annotations

from django.urls import path

from accounts.views import LanguageSwitchView, UnsubscribeView

urlpatterns = [
    path("i18n/language/", LanguageSwitchView.as_view(), name="set_language"),
    path("unsubscribe/<str:token>/", UnsubscribeView.as_view(), name="unsubscribe"),
]
