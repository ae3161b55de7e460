"""The earning engine: turn a reported event into points.

A purchase earns its rule's points per full money unit (rounded down), the member's tier
multiplier adds a tier bonus, and the best campaign (or every stackable one) adds bonus
points in separate lots with the campaign's expiry. Purchase points stay pending for
``RETURN_WINDOW_DAYS``. A refund reverses the same proportion of every lot the purchase
created. Other activities earn their rule's fixed points at once.

Every event is recorded with the answer it got, keyed by its idempotency key: the same key
and body replay that answer; the same key with another body is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.outbox import task_enqueue
from loyalty.errors import IdempotencyConflict, LedgerError
from loyalty.keys import entry_key
from loyalty.lock_objects import account_lock_for_event
from loyalty.models import (
    Account,
    CapPeriod,
    EarningRule,
    Entry,
    EntryKind,
    Event,
    EventType,
)
from loyalty.services.campaigns import (
    campaign_bonus_expiry,
    campaign_grant,
    campaign_offers,
    campaigns_live,
    campaigns_segment,
    floor_points,
)
from loyalty.services.ledger import credit_reverse, points_credit_many
from loyalty.services.program import rules_at
from loyalty.services.tiers import tier_upgrade_check
from loyalty.signals import event_recorded
from loyalty.tasks import points_earned_email_task
from loyalty.timing import local_date, program_zone


class EventRefused(LedgerError):
    """The event cannot be honoured; nothing was written. ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, code: str, status: int = 400, field: str = "") -> None:
        super().__init__(message)
        self.code, self.status, self.field = code, status, field


@dataclass(frozen=True)
class EventInput:
    idempotency_key: str
    type: str
    account: Account
    occurred_at: datetime
    amount: Decimal | None = None
    currency: str = ""
    order_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    api_key_id: int | None = None
    # False when the shop did not say when: the arrival time is then not part of the
    # request's identity, so a retry later still replays the first answer.
    occurred_at_sent: bool = True

    def fingerprint(self) -> str:
        body = {
            "type": self.type,
            "member": self.account.member_id,
            "order_id": self.order_id,
            "amount": None if self.amount is None else str(self.amount.normalize()),
            "currency": self.currency,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at_sent else None,
            "metadata": self.metadata,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class EventOutcome:
    event: Event
    replayed: bool

    @property
    def body(self) -> dict[str, Any]:
        return self.event.response


# --- rules ---------------------------------------------------------------------


def rule_active(*, event_type: str, at: datetime, code: str = "") -> EarningRule | None:
    """The active earning rule for an event (from the cached program snapshot)."""
    return rules_at(event_type=event_type, at=at, code=code)


def _period_start(period: str, at: datetime) -> datetime | None:
    day = local_date(at)
    starts = {
        CapPeriod.DAY: day,
        CapPeriod.WEEK: day - timedelta(days=day.weekday()),
        CapPeriod.MONTH: day.replace(day=1),
        CapPeriod.YEAR: day.replace(month=1, day=1),
    }
    start = starts.get(period)
    return None if start is None else datetime.combine(start, datetime.min.time(), program_zone())


def rule_cap_reached(*, rule: EarningRule, account: Account, at: datetime) -> bool:
    """Has the member already earned from ``rule`` ``cap_count`` times this period?"""
    if rule.cap_count is None:
        return False
    earned = Event.objects.filter(account=account, rule=rule, points_awarded__gt=0)
    if start := _period_start(rule.cap_period, at):
        earned = earned.filter(occurred_at__gte=start)
    return earned.count() >= rule.cap_count


def purchase_points(*, rule: EarningRule | None, amount: Decimal) -> int:
    """Points per full money unit, rounded down; nothing below the rule's minimum."""
    if rule is None or amount < rule.min_amount:
        return 0
    return floor_points(amount * rule.points_per_unit)


def tier_bonus(*, base: int, account: Account) -> int:
    tier = account.tier
    return floor_points(Decimal(base) * (tier.multiplier - 1)) if tier else 0


# --- recording ------------------------------------------------------------------


def event_record(*, data: EventInput) -> EventOutcome:
    """Record an event once and award its points; replay the first answer on retries."""
    fingerprint = data.fingerprint()
    try:  # a retry is caught by the unique keys, so a new event costs no look-up first
        event = _event_process(data, fingerprint)
    except (IntegrityError, IdempotencyConflict) as error:
        # The event's key (or one of its credits' keys) is taken: a retry, replayed even if
        # the rules changed since; or the same order under another key.
        if existing := Event.objects.filter(idempotency_key=data.idempotency_key).first():
            return _replay(existing, fingerprint)
        if isinstance(error, IdempotencyConflict):
            raise
        raise EventRefused(
            _("Order %(order)s was already recorded.") % {"order": data.order_id},
            code="duplicate_order",
            status=409,
            field="order_id",
        ) from None
    _announce(event)
    return EventOutcome(event, replayed=False)


def _announce(event: Event) -> None:
    payload = {
        "event_id": event.pk,
        "member_id": event.account.member_id,
        "type": event.type,
        "amount": event.amount,
        "occurred_at": event.occurred_at,
    }
    transaction.on_commit(lambda: event_recorded.send(sender=Event, **payload))
    if event.points_awarded > 0 and event.account.member.email_points_earned:
        task_enqueue(task=points_earned_email_task, args=[event.pk])


def event_record_once(*, data: EventInput) -> EventOutcome:
    """For things that happen once per key whenever they are noticed (sign-up, a year's
    birthday, completing the profile): an existing event is the answer, whatever its time."""
    if existing := Event.objects.filter(idempotency_key=data.idempotency_key).first():
        return EventOutcome(existing, replayed=True)
    return event_record(data=data)


def _replay(event: Event, fingerprint: str) -> EventOutcome:
    if event.request_hash != fingerprint:
        raise IdempotencyConflict(event.idempotency_key)
    return EventOutcome(event, replayed=True)


@transaction.atomic
def _event_process(data: EventInput, fingerprint: str) -> Event:
    account, event_id = account_lock_for_event(account=data.account)
    handler = {EventType.PURCHASE: _purchase, EventType.REFUND: _refund}.get(data.type, _activity)
    event, credits = handler(_Opening(data, account, fingerprint, event_id))
    event.response = _response(event, account, credits)
    if event_id is None:
        event.save(update_fields=["points_awarded", "response"])
    else:
        _event_insert(event)
    return event


@dataclass(frozen=True)
class _Opening:
    """An event being processed: what was sent, the locked account, and on PostgreSQL the
    id reserved for the event row (written last, with its answer, in one statement)."""

    data: EventInput
    account: Account
    fingerprint: str
    event_id: int | None


def _new_event(opening: _Opening, **extra: Any) -> Event:
    data = opening.data
    event = Event(
        idempotency_key=data.idempotency_key,
        api_key_id=data.api_key_id,
        type=data.type,
        account=opening.account,
        amount=data.amount,
        currency=data.currency,
        order_id=data.order_id,
        occurred_at=data.occurred_at,
        metadata=data.metadata,
        request_hash=opening.fingerprint,
        **extra,
    )
    if opening.event_id is None:
        event.save(force_insert=True)  # the row goes in first: its id comes back
    else:
        event.pk = opening.event_id
    return event


def _event_insert(event: Event) -> None:
    """Insert the finished event (PostgreSQL, id reserved): the event's unique keys are
    checked here, so a retry or a duplicate order undoes the whole transaction."""
    fields = Event._meta.concrete_fields
    values = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_event_insert_sql(), values)
    event._state.adding = False
    event._state.db = "default"


@cache
def _event_insert_sql() -> str:
    fields = Event._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {Event._meta.db_table} ({columns}) VALUES ({marks})"  # noqa: S608


def _credit(event: Event, part: str, points: int, **kwargs: Any) -> dict[str, Any] | None:
    """One credit the event earns (``points_credit``'s arguments), or None for no points;
    ``_finish`` writes them all together."""
    if points <= 0:
        return None
    details = {"event_id": event.pk, "event_type": event.type, "part": part}
    details.update(kwargs.pop("details", {}))
    if event.order_id:
        details["order_id"] = event.order_id
    return {
        "points": points,
        "idempotency_key": entry_key("event", event.idempotency_key, part),
        "occurred_at": event.occurred_at,
        "source": f"event:{event.pk}",
        "details": details,
        **kwargs,
    }


def _available_at(data: EventInput) -> datetime | None:
    days = settings.RETURN_WINDOW_DAYS
    return data.occurred_at + timedelta(days=days) if days else None


def _purchase(opening: _Opening) -> tuple[Event, list[Entry]]:
    data, account = opening.data, opening.account
    rule = rule_active(event_type=EventType.PURCHASE, at=data.occurred_at)
    if rule is not None and data.currency != rule.currency:
        raise EventRefused(
            _("Purchases are accepted in %(currency)s.") % {"currency": rule.currency},
            code="unsupported_currency",
            field="currency",
        )
    # A second purchase with this order id is refused by the unique constraint (409).
    capped = rule is not None and rule_cap_reached(rule=rule, account=account, at=data.occurred_at)
    base = 0 if capped else purchase_points(rule=rule, amount=data.amount)
    event = _new_event(opening, rule=rule)
    available_at = _available_at(data)
    credits = [
        _credit(
            event,
            "base",
            base,
            kind=EntryKind.EARN,
            available_at=available_at,
            qualifying=rule.counts_toward_tier if rule else False,
        ),
        _credit(
            event,
            "tier",
            tier_bonus(base=base, account=account),
            kind=EntryKind.BONUS,
            available_at=available_at,
            details={"tier": account.tier.name if account.tier else ""},
        ),
    ]
    credits += _campaign_credits(event, account, base=base, available_at=available_at)
    return _finish(event, account, credits)


def _campaign_credits(
    event: Event, account: Account, *, base: int, available_at: datetime | None
) -> list[dict[str, Any] | None]:
    live = campaigns_live(at=event.occurred_at)
    offers = campaign_offers(
        live,
        event_type=event.type,
        base=base,
        amount=event.amount,
        tier_id=account.tier_id,
        segment=campaigns_segment(campaigns=live, account_id=account.pk),
    )
    credits = []
    for offer in offers:
        expires_at = campaign_bonus_expiry(offer.campaign, earned_at=event.occurred_at)
        if expires_at <= timezone.now():
            continue
        granted = campaign_grant(campaign=offer.campaign, account=account, points=offer.points)
        pending_until = available_at if available_at and available_at < expires_at else None
        credits.append(
            _credit(
                event,
                f"campaign:{offer.campaign.pk}",
                granted,
                kind=EntryKind.BONUS,
                available_at=pending_until,
                expires_at=expires_at,
                details={"campaign_id": offer.campaign.pk, "campaign": offer.campaign.name},
            )
        )
    return credits


def _finish(
    event: Event, account: Account, wanted: list[dict[str, Any] | None]
) -> tuple[Event, list[Entry]]:
    credits = points_credit_many(account=account, credits=[c for c in wanted if c is not None])
    event.points_awarded = sum(c.points + c.pending_points for c in credits)
    if any(c.qualifying_points for c in credits):
        tier_upgrade_check(account=account)
    return event, credits


def _activity(opening: _Opening) -> tuple[Event, list[Entry]]:
    data, account = opening.data, opening.account
    code = str(data.metadata.get("activity", "")) if data.type == EventType.CUSTOM else ""
    rule = rule_active(event_type=data.type, at=data.occurred_at, code=code)
    if rule is None and data.type == EventType.CUSTOM:
        raise EventRefused(
            _("There is no active custom activity %(code)s.") % {"code": code or "-"},
            code="unknown_activity",
            field="metadata",
        )
    capped = rule is None or rule_cap_reached(rule=rule, account=account, at=data.occurred_at)
    base = 0 if capped else rule.points
    event = _new_event(opening, rule=rule)
    credits = [
        _credit(
            event,
            "base",
            base,
            kind=EntryKind.EARN,
            qualifying=rule.counts_toward_tier if rule else False,
        )
    ]
    credits += _campaign_credits(event, account, base=base, available_at=None)
    return _finish(event, account, credits)


def _refund(opening: _Opening) -> tuple[Event, list[Entry]]:
    data, account = opening.data, opening.account
    purchase = _refundable(data, account)
    total = purchase.refunded_amount + data.amount
    Event.objects.filter(pk=purchase.pk).update(refunded_amount=total)
    event = _new_event(opening, refund_of=purchase)
    reversals = []
    credits = Entry.objects.filter(source=f"event:{purchase.pk}", lot__isnull=False)
    for credit in credits.select_related("lot").order_by("pk"):
        target = floor_points(Decimal(credit.lot.points) * total / purchase.amount)
        if (delta := target - credit.lot.reversed) > 0:
            result = credit_reverse(
                credit=credit,
                points=delta,
                source=f"event:{event.pk}",
                idempotency_key=entry_key("event", data.idempotency_key, f"reverse:{credit.pk}"),
                details={
                    **_part_of(credit),
                    "event_id": event.pk,
                    "event_type": EventType.REFUND,
                    "order_id": purchase.order_id,
                },
            )
            reversals.append((credit, result))
    event.points_awarded = -sum(r.from_lot + r.clawed_back for _c, r in reversals)
    account.refresh_from_db(fields=["balance", "pending"])  # reversals lock their own copy
    return event, [r.entry for _c, r in reversals if r.entry is not None]


def _part_of(credit: Entry) -> dict[str, Any]:
    keys = ("part", "campaign_id", "campaign")
    return {key: credit.details[key] for key in keys if key in credit.details}


def _refundable(data: EventInput, account: Account) -> Event:
    purchase = (
        Event.objects.select_for_update()
        .filter(type=EventType.PURCHASE, order_id=data.order_id)
        .first()
    )
    if purchase is None:
        raise EventRefused(
            _("No purchase with order id %(order)s.") % {"order": data.order_id},
            code="unknown_order",
            status=404,
            field="order_id",
        )
    if purchase.account_id != account.pk:
        raise EventRefused(
            _("Order %(order)s belongs to another member.") % {"order": data.order_id},
            code="order_of_another_member",
            status=409,
            field="order_id",
        )
    if data.amount is None or purchase.refunded_amount + data.amount > purchase.amount:
        if Event.objects.filter(idempotency_key=data.idempotency_key).exists():
            # A retry of a refund already counted in refunded_amount: replay its answer
            # (event_record does) rather than refuse it as too much.
            raise IdempotencyConflict(data.idempotency_key)
        left = purchase.amount - purchase.refunded_amount
        raise EventRefused(
            _(
                "The refund exceeds what was bought: at most %(left)s %(currency)s can still be "
                "refunded."
            )
            % {"left": left, "currency": purchase.currency},
            code="refund_exceeds_purchase",
            status=409,
            field="amount",
        )
    return purchase


# --- the answer -------------------------------------------------------------------


def _response(event: Event, account: Account, credits: list[Entry]) -> dict[str, Any]:
    # ``account`` is the locked row; every ledger write above kept its sums current.
    parts = {"base": 0, "tier_bonus": 0}
    campaigns = []
    for entry in credits:
        points = entry.points + entry.pending_points
        part = entry.details.get("part", "")
        if part.startswith("campaign:"):
            campaigns.append(
                {
                    "id": entry.details.get("campaign_id"),
                    "name": entry.details.get("campaign", ""),
                    "points": points,
                }
            )
        else:
            parts["tier_bonus" if part == "tier" else "base"] += points
    pending = any(entry.pending_points for entry in credits)
    return {
        "event_id": event.pk,
        "idempotency_key": event.idempotency_key,
        "type": event.type,
        "member_id": account.member_id,
        "order_id": event.order_id,
        "points_awarded": event.points_awarded,
        "breakdown": {**parts, "campaigns": campaigns},
        "status": "pending" if pending else "available",
        "balance": account.balance,
        "pending": account.pending,
    }
