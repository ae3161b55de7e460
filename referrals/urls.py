from __future__ import annotations

from django.urls import path

from referrals.views import LandingView, QrCodeView, ReferFriendsView

urlpatterns = [
    path("r/<str:code>/", LandingView.as_view(), name="referral_landing"),
    path("r/<str:code>/qr.svg", QrCodeView.as_view(), name="referral_qr"),
    path("refer/", ReferFriendsView.as_view(), name="referrals_refer"),
]
