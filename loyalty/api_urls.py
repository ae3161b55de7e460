from __future__ import annotations

from django.urls import path

from loyalty.api import EventCreateApi, MemberCreateApi, MemberDetailApi, MemberLedgerApi

urlpatterns = [
    path("members/", MemberCreateApi.as_view(), name="api-member-create"),
    path("members/<id:member_id>/", MemberDetailApi.as_view(), name="api-member-detail"),
    path("members/<id:member_id>/ledger/", MemberLedgerApi.as_view(), name="api-member-ledger"),
    path("events/", EventCreateApi.as_view(), name="api-event-create"),
]
