from __future__ import annotations

from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("activity/", views.ActivityView.as_view(), name="activity"),
    path("rewards/", views.RewardListView.as_view(), name="rewards"),
    path("rewards/<int:pk>/", views.RewardDetailView.as_view(), name="reward"),
    path("rewards/<int:pk>/redeem/", views.RedeemView.as_view(), name="redeem"),
    path("vouchers/", views.VoucherListView.as_view(), name="vouchers"),
    path("vouchers/<int:pk>/", views.VoucherDetailView.as_view(), name="voucher"),
    path("vouchers/<int:pk>/cancel/", views.VoucherCancelView.as_view(), name="voucher_cancel"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/export/", views.ExportView.as_view(), name="export"),
    path("profile/delete/", views.DeleteAccountView.as_view(), name="delete"),
]
