from __future__ import annotations

from django.urls import path

from rewards.api import RedemptionCreateApi, RewardListApi, VoucherDetailApi, VoucherUseApi

urlpatterns = [
    path("rewards/", RewardListApi.as_view(), name="api-reward-list"),
    path(
        "members/<id:member_id>/redemptions/",
        RedemptionCreateApi.as_view(),
        name="api-redemption-create",
    ),
    path("vouchers/<str:code>/", VoucherDetailApi.as_view(), name="api-voucher-detail"),
    path("vouchers/<str:code>/use/", VoucherUseApi.as_view(), name="api-voucher-use"),
]
