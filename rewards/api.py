"""Shop API v1 of the rewards app: catalogue, redemptions and vouchers."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import api_exception_handler
from config.input import ascii_id, id_message
from loyalty.api import ERROR, member_account, member_account_read
from loyalty.api_auth import ApiKeyRateThrottle
from loyalty.errors import IdempotencyConflict, InsufficientPoints
from loyalty.models import ApiReplay
from loyalty.timing import last_valid_day
from loyalty.validation import StrictIntegerField
from rewards.errors import RewardRefused
from rewards.guessing import voucher_guess_check, voucher_miss_count
from rewards.models import Redemption, Reward, Voucher
from rewards.selectors import rewards_live, rewards_with_eligibility, voucher_find
from rewards.services import reward_redeem, voucher_use


class VoucherLookupThrottle(ApiKeyRateThrottle):
    scope = "voucher_lookup"


class TierRefSerializer(serializers.Serializer):
    name = serializers.CharField()
    rank = serializers.IntegerField()


class RewardOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    points_cost = serializers.IntegerField()
    money_value = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    percent_off = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    stock = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    min_tier = TierRefSerializer(allow_null=True)
    available_until = serializers.DateTimeField(source="active_until", allow_null=True)
    image_url = serializers.SerializerMethodField()
    affordable = serializers.BooleanField(required=False, help_text="Only with ?member_id=")
    eligible = serializers.BooleanField(required=False, help_text="Only with ?member_id=")
    reason = serializers.CharField(required=False, help_text="Why not eligible, if not.")

    def get_image_url(self, reward: Reward) -> str:
        return self.context["request"].build_absolute_uri(reward.image_url)


class RewardListApi(APIView):
    @extend_schema(
        operation_id="reward_list",
        summary="Active rewards; with member_id, which that member can afford and redeem",
        parameters=[OpenApiParameter("member_id", int, required=False)],
        responses={200: RewardOutputSerializer(many=True), 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        member_id = request.query_params.get("member_id")
        context = {"request": request}
        if not member_id:
            return Response(RewardOutputSerializer(rewards_live(), many=True, context=context).data)
        if (parsed_id := ascii_id(member_id)) is None:
            raise exceptions.ValidationError({"member_id": [id_message()]})
        account = member_account_read(parsed_id)
        rows = []
        for reward, verdict in rewards_with_eligibility(account=account):
            row = RewardOutputSerializer(reward, context=context).data
            rows.append(
                {
                    **row,
                    "affordable": verdict.affordable,
                    "eligible": verdict.eligible,
                    "reason": verdict.reason,
                }
            )
        return Response(rows)


class VoucherOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField()
    reward = serializers.CharField(source="redemption.reward.name")
    kind = serializers.CharField(source="redemption.reward.kind")
    money_value = serializers.DecimalField(
        source="redemption.reward.money_value", max_digits=12, decimal_places=2, allow_null=True
    )
    currency = serializers.CharField(source="redemption.reward.currency")
    percent_off = serializers.DecimalField(
        source="redemption.reward.percent_off", max_digits=5, decimal_places=2, allow_null=True
    )
    expires_at = serializers.DateTimeField()
    valid_through = serializers.SerializerMethodField()
    used_at = serializers.DateTimeField(allow_null=True)
    used_order_id = serializers.CharField()

    def get_valid_through(self, voucher: Voucher) -> str:
        return last_valid_day(voucher.expires_at).isoformat()


class RedemptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reward_id = serializers.IntegerField()
    reward = serializers.CharField(source="reward.name")
    points = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    voucher = VoucherOutputSerializer()
    balance = serializers.IntegerField(source="account.balance")


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _first_answer(key: str, fingerprint: str) -> Response | None:
    """The answer the first request with this key got: the same redemption (now 200) or
    the same refusal."""
    replay = ApiReplay.objects.filter(idempotency_key=key).first()
    if replay is None:
        return None
    if replay.scope != "redemption" or replay.request_hash != fingerprint:
        raise IdempotencyConflict(key)
    code = (
        status.HTTP_200_OK if replay.status_code == status.HTTP_201_CREATED else replay.status_code
    )
    return Response(replay.body, status=code)


def _remember(key: str, fingerprint: str, response: Response) -> None:
    try:
        with transaction.atomic():
            ApiReplay.objects.create(
                idempotency_key=key,
                scope="redemption",
                request_hash=fingerprint,
                status_code=response.status_code,
                body=response.data,
            )
    except IntegrityError:  # a concurrent retry stored the same answer first
        pass


class RedemptionCreateApi(APIView):
    @extend_schema_serializer(component_name="RedemptionInput")
    class InputSerializer(serializers.Serializer):
        reward_id = StrictIntegerField(min_value=1)
        idempotency_key = serializers.CharField(max_length=255, min_length=1)

    @extend_schema(
        operation_id="redemption_create",
        summary="Redeem a reward for a member; answers with the voucher",
        description="Idempotent by `idempotency_key`: a retry returns the first answer — the "
        "same redemption (200), or the same refusal (for example not enough points).",
        request=InputSerializer,
        responses={
            201: RedemptionOutputSerializer,
            200: RedemptionOutputSerializer,
            400: ERROR,
            404: ERROR,
            409: ERROR,
        },
    )
    def post(self, request: Request, member_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, reward_id = data.validated_data["idempotency_key"], data.validated_data["reward_id"]
        account = member_account(member_id)
        fingerprint = _fingerprint(member_id, reward_id)
        if (replay := _first_answer(key, fingerprint)) is not None:
            return replay
        if existing := Redemption.objects.filter(idempotency_key=key).first():
            if (existing.account_id, existing.reward_id) != (account.pk, reward_id):
                raise IdempotencyConflict(key)
            return Response(self._body(existing), status=status.HTTP_200_OK)
        reward = get_object_or_404(Reward, pk=reward_id)
        try:
            redemption = reward_redeem(account=account, reward=reward, idempotency_key=key)
        except (RewardRefused, InsufficientPoints) as refusal:
            response = api_exception_handler(refusal, {})
            _remember(key, fingerprint, response)
            return response
        code = status.HTTP_200_OK if redemption.replayed else status.HTTP_201_CREATED
        response = Response(self._body(redemption), status=code)
        _remember(key, fingerprint, response)
        return response

    def _body(self, redemption: Redemption) -> dict[str, Any]:
        redemption = Redemption.objects.select_related("reward", "voucher", "account").get(
            pk=redemption.pk
        )
        return RedemptionOutputSerializer(redemption).data


def _voucher_or_404(request: Request, code: str) -> Voucher:
    """Find a voucher; unknown codes count toward the limits against guessing."""
    voucher_guess_check(request=request)
    voucher = voucher_find(code=code)
    if voucher is None:
        voucher_miss_count(request=request)
        raise exceptions.NotFound(_("No voucher with this code."))
    return voucher


class VoucherDetailApi(APIView):
    throttle_classes = [ApiKeyRateThrottle, VoucherLookupThrottle]

    @extend_schema(
        operation_id="voucher_detail",
        summary="Validate a voucher at checkout: status, value, kind, expiry",
        responses={200: VoucherOutputSerializer, 404: ERROR, 429: ERROR},
    )
    def get(self, request: Request, code: str) -> Response:
        return Response(VoucherOutputSerializer(_voucher_or_404(request, code)).data)


class VoucherUseApi(APIView):
    throttle_classes = [ApiKeyRateThrottle, VoucherLookupThrottle]

    @extend_schema_serializer(component_name="VoucherUseInput")
    class InputSerializer(serializers.Serializer):
        order_id = serializers.CharField(max_length=100, min_length=1)

    @extend_schema(
        operation_id="voucher_use",
        summary="Mark a voucher used for an order (once; a second use is 409)",
        request=InputSerializer,
        responses={200: VoucherOutputSerializer, 400: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
    )
    def post(self, request: Request, code: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = voucher_use(
            voucher=_voucher_or_404(request, code), order_id=data.validated_data["order_id"]
        )
        return Response(VoucherOutputSerializer(voucher).data)
