"""Shop API v1 of the loyalty app: members, their ledger, and events. Thin views: input
serializers validate, services decide, output serializers shape the answer."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.services import LANGUAGE_CODES
from config.api import error_body
from config.input import ascii_id
from loyalty.currencies import ISO_4217
from loyalty.models import Account, EventType, Tier
from loyalty.selectors import account_entries, member_account_fast, member_summary
from loyalty.services.earning import EventInput, event_record
from loyalty.services.ledger import account_for_member
from loyalty.services.members import member_enroll
from loyalty.validation import (
    MoneyField,
    StrictDateField,
    StrictDateTimeField,
    StrictIntegerField,
)

API_EVENT_TYPES = [
    EventType.PURCHASE,
    EventType.REFUND,
    EventType.REVIEW,
    EventType.PHOTO,
    EventType.SURVEY,
    EventType.CUSTOM,
]
MONEY_TYPES = (EventType.PURCHASE, EventType.REFUND)
MAX_METADATA_BYTES = 4096
FUTURE_SKEW = timedelta(minutes=5)

ERROR = OpenApiResponse(
    inline_serializer(
        "Error",
        {
            "error": inline_serializer(
                "ErrorBody",
                {
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                    "fields": serializers.DictField(child=serializers.ListField()),
                },
            )
        },
    ),
    description="A clear message, and field errors where they apply. Nothing was written.",
)


MEMBERS = {"member__is_active": True, "member__is_staff": False}


def member_account(member_id: int) -> Account:
    """The member's account, opened on first use (staff users are not members here)."""
    if account := member_account_fast(member_id=member_id):
        return account
    member = get_object_or_404(User, pk=member_id, is_active=True, is_staff=False)
    return Account.objects.select_related("member", "tier").get(
        pk=account_for_member(member=member).pk
    )


def member_account_read(member_id: int) -> Account:
    """Like ``member_account`` but never writes: a member without an account yet is
    shown as an empty one in the entry tier."""
    member = get_object_or_404(User, pk=member_id, is_active=True, is_staff=False)
    account = Account.objects.select_related("member", "tier").filter(member=member).first()
    if account is None:
        tier = Tier.objects.filter(threshold=0).order_by("rank").first()
        account = Account(member=member, tier=tier)
    return account


# --- members ---------------------------------------------------------------------


class TierSerializer(serializers.Serializer):
    name = serializers.CharField()
    rank = serializers.IntegerField()


class NextTierSerializer(TierSerializer):
    points_to_go = serializers.IntegerField()


class ExpiringSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    date = serializers.DateField(allow_null=True, help_text="Last day the points can be spent.")
    within_days = serializers.IntegerField()


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="account.member_id")
    email = serializers.EmailField(source="account.member.email")
    first_name = serializers.CharField(source="account.member.first_name")
    last_name = serializers.CharField(source="account.member.last_name")
    language = serializers.CharField(source="account.member.language")
    balance = serializers.IntegerField(source="account.balance")
    pending = serializers.IntegerField(source="account.pending")
    lifetime_points = serializers.IntegerField(source="account.lifetime_earned")
    qualifying_points = serializers.IntegerField(source="account.qualifying_points")
    tier = TierSerializer(source="progress.tier", allow_null=True)
    next_tier = serializers.SerializerMethodField()
    expiring_soon = serializers.SerializerMethodField()

    @extend_schema_field(NextTierSerializer(allow_null=True))
    def get_next_tier(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        progress = summary["progress"]
        upcoming = progress["next_tier"]
        if upcoming is None:
            return None
        return {
            "name": upcoming.name,
            "rank": upcoming.rank,
            "points_to_go": progress["points_to_go"],
        }

    @extend_schema_field(ExpiringSerializer)
    def get_expiring_soon(self, summary: dict[str, Any]) -> dict[str, Any]:
        expiring = summary["expiring"]
        return {"points": expiring["points"], "date": expiring["date"], "within_days": 30}


def member_body(account: Account) -> dict[str, Any]:
    return MemberOutputSerializer(member_summary(account=account)).data


class MemberCreateApi(APIView):
    @extend_schema_serializer(component_name="MemberEnrollInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        first_name = serializers.CharField(max_length=150, required=False, default="")
        last_name = serializers.CharField(max_length=150, required=False, default="")
        language = serializers.ChoiceField(
            choices=sorted(LANGUAGE_CODES), required=False, default=""
        )
        birthday = StrictDateField(required=False, allow_null=True, default=None)

        def validate_birthday(self, value: Any) -> Any:
            if value and value > timezone.localdate():
                raise serializers.ValidationError(_("A birthday cannot be in the future."))
            return value

    @extend_schema(
        operation_id="member_enroll",
        summary="Enroll a member by email",
        description="Creates the member and sends them an email to choose a password. "
        "Enrolling an existing email returns that member with status 200.",
        request=InputSerializer,
        responses={201: MemberOutputSerializer, 200: MemberOutputSerializer, 400: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = member_enroll(**data.validated_data)
        if enrollment.member.is_staff or not enrollment.member.is_active:
            body = error_body("not_a_member", _("This email belongs to a staff or closed account."))
            return Response(body, status=status.HTTP_409_CONFLICT)
        account = member_account(enrollment.member.pk)
        code = status.HTTP_201_CREATED if enrollment.created else status.HTTP_200_OK
        return Response(member_body(account), status=code)


class MemberDetailApi(APIView):
    @extend_schema(
        operation_id="member_detail",
        summary="A member's balance, tier, progress and points expiring soon",
        responses={200: MemberOutputSerializer, 404: ERROR},
    )
    def get(self, request: Request, member_id: int) -> Response:
        return Response(member_body(member_account_read(member_id)))


class LedgerPagination(CursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        """``page_size`` is 1 to ``max_page_size`` in ASCII digits; not ``1_0``, ``３``, ``0``."""
        if self.page_size_query_param not in request.query_params:
            return self.page_size
        size = ascii_id(request.query_params[self.page_size_query_param])
        if size is None or not 1 <= size <= self.max_page_size:
            message = _("The page size is a whole number from 1 to %(max)d in ASCII digits.")
            raise exceptions.ValidationError(
                {self.page_size_query_param: [message % {"max": self.max_page_size}]}
            )
        return size

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's decoding, plus the position it leaves unchecked: a tampered one is the
        documented 404 ``Invalid cursor``, like any other bad cursor."""
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        if position is not None and not _aware_datetime(position):
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor


def _aware_datetime(text: str) -> bool:
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is not None


class EntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    points = serializers.IntegerField(help_text="Change of the available balance.")
    pending_points = serializers.IntegerField(help_text="Change of the pending points.")
    source = serializers.CharField()
    details = serializers.DictField()
    note = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(source="lot.expires_at", allow_null=True, default=None)


class LedgerPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EntryOutputSerializer(many=True)


class MemberLedgerApi(APIView):
    @extend_schema(
        operation_id="member_ledger",
        summary="A member's ledger entries, newest first (cursor-paginated)",
        parameters=[
            OpenApiParameter("cursor", str, description="From the `next` or `previous` link."),
            OpenApiParameter("page_size", int, description="1 to 200, default 50."),
        ],
        responses={200: LedgerPageSerializer, 404: ERROR},
    )
    def get(self, request: Request, member_id: int) -> Response:
        account = member_account_read(member_id)
        paginator = LedgerPagination()
        entries = account_entries(account=account).select_related("lot")
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(EntryOutputSerializer(page, many=True).data)


# --- events ----------------------------------------------------------------------


class EventInputSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(max_length=255, min_length=1)
    type = serializers.ChoiceField(choices=API_EVENT_TYPES)
    member_id = StrictIntegerField(min_value=1, required=False)
    member_email = serializers.EmailField(required=False)
    amount = MoneyField(
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        min_value=0,
        max_value=settings.MAX_EVENT_AMOUNT,
        required=False,
        allow_null=True,
    )
    currency = serializers.CharField(min_length=3, max_length=3, required=False, default="")
    order_id = serializers.CharField(max_length=100, required=False, default="")
    occurred_at = StrictDateTimeField(required=False, default=None, allow_null=True)
    metadata = serializers.DictField(required=False, default=dict)

    def validate_currency(self, value: str) -> str:
        if value and value.upper() not in ISO_4217:
            raise serializers.ValidationError(_("Unknown currency: use an ISO 4217 code."))
        return value.upper()

    def validate_occurred_at(self, value: Any) -> Any:
        if value and value > timezone.now() + FUTURE_SKEW:
            raise serializers.ValidationError(_("The event cannot be in the future."))
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(_("Metadata is limited to 4 KB."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("member_id" in attrs) == ("member_email" in attrs):
            raise serializers.ValidationError(
                {"member_id": [_("Give exactly one of member_id and member_email.")]}
            )
        if attrs["type"] in MONEY_TYPES:
            self._require_money(attrs)
        return attrs

    def _require_money(self, attrs: dict[str, Any]) -> None:
        missing = {
            name: [_("This field is required for purchases and refunds.")]
            for name in ("amount", "currency", "order_id")
            if not attrs.get(name) and attrs.get(name) != 0
        }
        if attrs["type"] == EventType.REFUND and attrs.get("amount") == 0:
            missing["amount"] = [_("A refund must be more than zero.")]
        if missing:
            raise serializers.ValidationError(missing)


class EventOutputSerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    idempotency_key = serializers.CharField()
    type = serializers.CharField()
    member_id = serializers.IntegerField()
    order_id = serializers.CharField()
    points_awarded = serializers.IntegerField(help_text="Negative for a refund.")
    breakdown = inline_serializer(
        "EventBreakdown",
        {
            "base": serializers.IntegerField(),
            "tier_bonus": serializers.IntegerField(),
            "campaigns": inline_serializer(
                "CampaignBonus",
                {
                    "id": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "points": serializers.IntegerField(),
                },
                many=True,
            ),
        },
    )
    status = serializers.ChoiceField(choices=["pending", "available"])
    balance = serializers.IntegerField()
    pending = serializers.IntegerField()


def _event_member(attrs: dict[str, Any]) -> Account:
    if "member_id" in attrs:
        return member_account(attrs["member_id"])
    member = get_object_or_404(
        User, email__iexact=attrs["member_email"], is_active=True, is_staff=False
    )
    return member_account(member.pk)


class EventCreateApi(APIView):
    @extend_schema(
        operation_id="event_create",
        summary="Report a purchase, refund, review, photo, survey or custom activity",
        description="Idempotent by `idempotency_key`: the same key and body return the first "
        "answer with 200; the same key with another body is 409. Purchase points are pending "
        "for the return window. A refund names the purchase's `order_id` and reverses the "
        "same proportion of its base and bonus points.",
        request=EventInputSerializer,
        responses={
            201: EventOutputSerializer,
            200: EventOutputSerializer,
            400: ERROR,
            404: ERROR,
            409: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        outcome = event_record(
            data=EventInput(
                idempotency_key=attrs["idempotency_key"],
                type=attrs["type"],
                account=_event_member(attrs),
                occurred_at=attrs["occurred_at"] or timezone.now(),
                occurred_at_sent=attrs["occurred_at"] is not None,
                amount=attrs.get("amount"),
                currency=attrs["currency"],
                order_id=attrs["order_id"],
                metadata=attrs["metadata"],
                api_key_id=request.auth.pk,
            )
        )
        code = status.HTTP_200_OK if outcome.replayed else status.HTTP_201_CREATED
        return Response(outcome.body, status=code)
