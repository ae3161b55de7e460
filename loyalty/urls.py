from __future__ import annotations

from django.urls import path

from loyalty.views import HomeView, TermsView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("terms/", TermsView.as_view(), name="terms"),
]
