"""Bulk import of purchases (CSV), set-based: thousands of events per second.

Rows are validated first; each bad row is reported with its line number while the good
rows land. Import is idempotent by order id: a purchase already recorded is skipped. Points
follow the same rules as the events API (earning rule, tier bonus, campaigns with their
member caps and budgets, return window), computed by the same functions, but written in
bulk: per chunk one transaction locks the chunk's accounts in id order, then inserts
events, lots and entries with ``bulk_create`` and updates the balances in one statement.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from loyalty.currencies import ISO_4217
from loyalty.lock_objects import accounts_lock
from loyalty.models import (
    Account,
    Campaign,
    CampaignParticipation,
    EarningRule,
    Entry,
    EntryKind,
    Event,
    EventType,
    Lot,
    LotState,
)
from loyalty.services.campaigns import campaign_bonus_expiry, campaign_offers
from loyalty.services.earning import purchase_points, tier_bonus
from loyalty.services.ledger import account_open
from loyalty.services.tiers import tier_upgrade_check
from loyalty.timing import program_zone, rolling_expiry

CHUNK = 2000
REQUIRED = ("order_id", "amount", "currency")


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    points: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Row:
    line: int
    order_id: str
    key: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    account_id: int = 0
    member: str = ""
    credits: list[dict[str, Any]] = field(default_factory=list)


# --- reading and validating -------------------------------------------------------------


def _parse_amount(value: str) -> Decimal:
    amount = Decimal(value.strip())
    if (
        amount < 0
        or amount > settings.MAX_EVENT_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise InvalidOperation
    return amount


def _parse_time(value: str, now: datetime) -> datetime:
    if not value.strip():
        return now
    moment = parse_datetime(value.strip())
    if moment is None:
        raise ValueError
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=program_zone())
    if moment > now + timedelta(minutes=5):
        raise ValueError
    return moment


def _row(line: int, raw: dict[str, str], now: datetime) -> Row:
    missing = [name for name in REQUIRED if not (raw.get(name) or "").strip()]
    if missing or not (
        (raw.get("member_email") or "").strip() or (raw.get("member_id") or "").strip()
    ):
        raise ValueError(
            _("missing fields: %(fields)s") % {"fields": ", ".join(missing) or "member_email"}
        )
    try:
        amount = _parse_amount(raw["amount"])
    except (InvalidOperation, ValueError):
        raise ValueError(
            _("amount must be a number from 0 to %(max)s with at most 2 decimals")
            % {"max": settings.MAX_EVENT_AMOUNT}
        ) from None
    currency = raw["currency"].strip().upper()
    if currency not in ISO_4217:
        raise ValueError(_("unknown currency %(code)s") % {"code": currency})
    try:
        occurred_at = _parse_time(raw.get("occurred_at") or "", now)
    except ValueError:
        raise ValueError(_("occurred_at must be an ISO date-time, not in the future")) from None
    order_id = raw["order_id"].strip()[:100]
    key = (raw.get("idempotency_key") or "").strip() or f"import:{order_id}"
    member = (raw.get("member_email") or raw.get("member_id") or "").strip().lower()
    return Row(line, order_id, key[:255], amount, currency, occurred_at, member=member)


def rows_read(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows with their line numbers (the header is line 1)."""
    reader = csv.DictReader(stream)
    for number, raw in enumerate(reader, start=2):
        yield number, {(k or "").strip().lower(): (v or "") for k, v in raw.items()}


def _validated(rows: Iterable[tuple[int, dict[str, str]]], report: ImportReport) -> list[Row]:
    now, good, seen = timezone.now(), [], {}
    for line, raw in rows:
        try:
            row = _row(line, raw, now)
        except ValueError as error:
            report.errors.append((line, str(error)))
            continue
        if row.order_id in seen:
            report.errors.append(
                (
                    line,
                    _("order %(order)s repeats line %(first)d")
                    % {"order": row.order_id, "first": seen[row.order_id]},
                )
            )
            continue
        seen[row.order_id] = line
        good.append(row)
    return good


def _resolve_members(rows: list[Row], report: ImportReport) -> list[Row]:
    emails = {r.member for r in rows if "@" in r.member}
    ids = {int(r.member) for r in rows if r.member.isdigit()}
    users = User.objects.filter(is_active=True)
    by_email = dict(users.filter(email__in=emails).values_list("email", "pk"))
    known_ids = set(users.filter(pk__in=ids).values_list("pk", flat=True))
    accounts = dict(
        Account.objects.filter(member_id__in=[*by_email.values(), *known_ids]).values_list(
            "member_id", "pk"
        )
    )
    resolved = []
    for row in rows:
        member_id = by_email.get(row.member) or (
            int(row.member) if row.member.isdigit() and int(row.member) in known_ids else None
        )
        if member_id is None:
            report.errors.append(
                (row.line, _("unknown member %(member)s") % {"member": row.member})
            )
            continue
        if member_id not in accounts:
            accounts[member_id] = account_open(member=User.objects.get(pk=member_id)).pk
        row.account_id = accounts[member_id]
        resolved.append(row)
    return resolved


def _new_only(rows: list[Row], report: ImportReport) -> list[Row]:
    orders = [r.order_id for r in rows]
    known = set()
    for start in range(0, len(orders), 5000):
        batch = orders[start : start + 5000]
        known |= set(
            Event.objects.filter(type=EventType.PURCHASE, order_id__in=batch).values_list(
                "order_id", flat=True
            )
        )
    report.skipped += sum(1 for r in rows if r.order_id in known)
    return [r for r in rows if r.order_id not in known]


# --- planning the points ------------------------------------------------------------------


@dataclass
class Program:
    rules: list[EarningRule]
    campaigns: list[Campaign]
    budgets: dict[int, int | None] = field(default_factory=dict)
    taken: dict[tuple[int, int], int] = field(default_factory=dict)
    joined: dict[tuple[int, int], int] = field(default_factory=dict)

    def rule_at(self, at: datetime) -> EarningRule | None:
        for rule in self.rules:
            if (rule.active_from is None or rule.active_from <= at) and (
                rule.active_until is None or rule.active_until > at
            ):
                return rule
        return None

    def campaigns_at(self, at: datetime) -> list[Campaign]:
        return [c for c in self.campaigns if c.starts_at <= at < c.ends_at]


def _program(rows: list[Row]) -> Program:
    first = min(r.occurred_at for r in rows)
    last = max(r.occurred_at for r in rows)
    rules = EarningRule.objects.filter(event_type=EventType.PURCHASE, code="", is_active=True)
    campaigns = Campaign.objects.filter(
        status__in=["scheduled", "active"], starts_at__lte=last, ends_at__gt=first
    ).prefetch_related("tiers")
    return Program(list(rules), list(campaigns))


def _credit(part: str, kind: str, points: int, *, row: Row, now: datetime, **extra: Any) -> dict:
    available_at = extra.pop("available_at")
    expires_at = extra.pop("expires_at")
    if points <= 0 or expires_at <= max(available_at, now):
        return {}
    return {
        "part": part,
        "kind": kind,
        "points": points,
        "available_at": available_at,
        "expires_at": expires_at,
        "pending": available_at > now,
        **extra,
    }


def _grant(program: Program, campaign: Campaign, account_id: int, points: int) -> int:
    key = (campaign.pk, account_id)
    wanted = points
    if campaign.member_cap_points is not None:
        wanted = min(wanted, max(0, campaign.member_cap_points - program.taken.get(key, 0)))
    budget = program.budgets.get(campaign.pk)
    if budget is not None:
        wanted = min(wanted, budget)
        program.budgets[campaign.pk] = budget - wanted
    if wanted > 0:
        program.taken[key] = program.taken.get(key, 0) + wanted
        program.joined[key] = program.joined.get(key, 0) + 1
    return max(0, wanted)


def _plan(row: Row, account: Account, program: Program, now: datetime) -> str:
    rule = program.rule_at(row.occurred_at)
    if rule is not None and row.currency != rule.currency:
        return _("purchases are accepted in %(currency)s") % {"currency": rule.currency}
    base = purchase_points(rule=rule, amount=row.amount)
    tier = account.tier
    bonus = tier_bonus(base=base, account=account)
    days = settings.RETURN_WINDOW_DAYS
    when = {
        "available_at": row.occurred_at + timedelta(days=days) if days else row.occurred_at,
        "expires_at": rolling_expiry(earned_at=row.occurred_at),
    }
    row.credits = [
        _credit(
            "base",
            EntryKind.EARN,
            base,
            row=row,
            now=now,
            **when,
            qualifying=bool(rule and rule.counts_toward_tier),
            details={},
        ),
        _credit(
            "tier",
            EntryKind.BONUS,
            bonus,
            row=row,
            now=now,
            **when,
            qualifying=False,
            details={"tier": tier.name if tier else ""},
        ),
    ]
    offers = campaign_offers(
        program.campaigns_at(row.occurred_at),
        event_type=EventType.PURCHASE,
        base=base,
        amount=row.amount,
        tier_id=account.tier_id,
    )
    for offer in offers:
        expires_at = campaign_bonus_expiry(offer.campaign, earned_at=row.occurred_at)
        pending_until = (
            when["available_at"] if when["available_at"] < expires_at else row.occurred_at
        )
        granted = (
            _grant(program, offer.campaign, account.pk, offer.points) if expires_at > now else 0
        )
        row.credits.append(
            _credit(
                f"campaign:{offer.campaign.pk}",
                EntryKind.BONUS,
                granted,
                row=row,
                now=now,
                available_at=pending_until,
                expires_at=expires_at,
                qualifying=False,
                details={"campaign_id": offer.campaign.pk, "campaign": offer.campaign.name},
            )
        )
    row.credits = [c for c in row.credits if c]
    return ""


# --- writing in bulk ------------------------------------------------------------------------

APPLY_BALANCES = """
UPDATE loyalty_account SET balance = balance + v.column2, pending = pending + v.column3,
    lifetime_earned = lifetime_earned + v.column4,
    qualifying_points = qualifying_points + v.column5, updated_at = %s
FROM (VALUES {rows}) AS v
WHERE loyalty_account.id = v.column1
"""
VALUES_ROW = "(" + ", ".join(["CAST(%s AS BIGINT)"] * 5) + ")"


def _lock_budgets(program: Program) -> None:
    budgeted = [c.pk for c in program.campaigns if c.budget_points is not None]
    locked = Campaign.objects.select_for_update().filter(pk__in=budgeted).order_by("pk")
    program.budgets = {c.pk: c.budget_points - c.budget_used for c in locked}


def _load_participations(program: Program, account_ids: list[int]) -> None:
    campaign_ids = [c.pk for c in program.campaigns]
    rows = CampaignParticipation.objects.filter(
        campaign_id__in=campaign_ids, account_id__in=account_ids
    )
    program.taken = {(p.campaign_id, p.account_id): p.points for p in rows}
    program.joined = {(p.campaign_id, p.account_id): p.events for p in rows}


def _event(row: Row, rule_id: int | None) -> Event:
    points = sum(c["points"] for c in row.credits)
    body = {
        "type": EventType.PURCHASE,
        "order_id": row.order_id,
        "points_awarded": points,
        "imported": True,
        "status": "pending" if any(c["pending"] for c in row.credits) else "available",
    }
    fingerprint = f"import|{row.order_id}|{row.amount}|{row.currency}|{row.occurred_at.isoformat()}"
    return Event(
        idempotency_key=row.key,
        type=EventType.PURCHASE,
        account_id=row.account_id,
        rule_id=rule_id,
        amount=row.amount,
        currency=row.currency,
        order_id=row.order_id,
        occurred_at=row.occurred_at,
        metadata={"import": True},
        points_awarded=points,
        request_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
        response=body,
    )


def _lots_and_entries(rows: list[Row], events: list[Event]) -> tuple[list[Lot], list[Entry]]:
    lots, entries = [], []
    for row, event in zip(rows, events, strict=True):
        for credit in row.credits:
            lot = Lot(
                account_id=row.account_id,
                kind=credit["kind"],
                points=credit["points"],
                remaining=credit["points"],
                qualifying=credit["qualifying"],
                state=LotState.PENDING if credit["pending"] else LotState.AVAILABLE,
                available_at=credit["available_at"],
                expires_at=credit["expires_at"],
            )
            lots.append(lot)
            entries.append(_entry(row, event, credit, lot))
    Lot.objects.bulk_create(lots)
    for entry in entries:
        entry.lot_id = entry.lot.pk
    return lots, entries


def _entry(row: Row, event: Event, credit: dict[str, Any], lot: Lot) -> Entry:
    points, pending = (0, credit["points"]) if credit["pending"] else (credit["points"], 0)
    counted = points if credit["qualifying"] else 0
    details = {
        "event_id": event.pk,
        "part": credit["part"],
        "order_id": row.order_id,
        **credit["details"],
    }
    return Entry(
        account_id=row.account_id,
        kind=credit["kind"],
        points=points,
        pending_points=pending,
        qualifying_points=counted,
        lot=lot,
        idempotency_key=f"event:{row.key}:{credit['part']}",
        source=f"event:{event.pk}",
        details=details,
        occurred_at=row.occurred_at,
    )


def _apply_balances(entries: list[Entry], now: datetime) -> dict[int, int]:
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in entries:
        total = sums[entry.account_id]
        total[0] += entry.points
        total[1] += entry.pending_points
        total[2] += entry.points + entry.pending_points
        total[3] += entry.qualifying_points
    if sums:
        sql = APPLY_BALANCES.format(rows=", ".join([VALUES_ROW] * len(sums)))
        params = [connection.ops.adapt_datetimefield_value(now)]
        for account_id, (balance, pending, lifetime, qualifying) in sums.items():
            params += [account_id, balance, pending, lifetime, qualifying]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return {account_id: total[3] for account_id, total in sums.items() if total[3] > 0}


def _save_campaigns(program: Program, before: dict[int, int | None]) -> None:
    if program.joined:
        CampaignParticipation.objects.bulk_create(
            [
                CampaignParticipation(
                    campaign_id=c, account_id=a, points=program.taken[(c, a)], events=n
                )
                for (c, a), n in program.joined.items()
            ],
            update_conflicts=True,
            unique_fields=["campaign", "account"],
            update_fields=["points", "events"],
        )
    for campaign_id, left in program.budgets.items():
        if (spent := before[campaign_id] - left) > 0:
            Campaign.objects.filter(pk=campaign_id).update(budget_used=F("budget_used") + spent)


@transaction.atomic
def _import_chunk(rows: list[Row], program: Program, report: ImportReport) -> None:
    now = timezone.now()
    locked = accounts_lock(account_ids={r.account_id for r in rows})
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=locked).select_related("tier")}
    _lock_budgets(program)
    _load_participations(program, locked)
    before = dict(program.budgets)
    planned = []
    for row in rows:
        if error := _plan(row, accounts[row.account_id], program, now):
            report.errors.append((row.line, error))
        else:
            planned.append(row)
    rules = {r.line: program.rule_at(r.occurred_at) for r in planned}
    events = Event.objects.bulk_create(
        [_event(r, getattr(rules[r.line], "pk", None)) for r in planned]
    )
    _lots, entries = _lots_and_entries(planned, events)
    Entry.objects.bulk_create(entries)
    gained = _apply_balances(entries, now)
    _save_campaigns(program, before)
    _upgrade_tiers(gained, accounts)
    report.imported += len(planned)
    report.points += sum(e.points + e.pending_points for e in entries)


def _upgrade_tiers(gained: dict[int, int], accounts: dict[int, Account]) -> None:
    for account_id in gained:
        tier_upgrade_check(account=accounts[account_id])


def events_import(
    *, rows: Iterable[tuple[int, dict[str, str]]], chunk_size: int = CHUNK
) -> ImportReport:
    """Import purchase rows ``(line, {column: value})``; see the module docstring."""
    report = ImportReport()
    valid = _new_only(_resolve_members(_validated(rows, report), report), report)
    if valid:
        program = _program(valid)
        valid.sort(key=lambda r: (r.account_id, r.occurred_at))
        for start in range(0, len(valid), chunk_size):
            _import_chunk(valid[start : start + chunk_size], program, report)
    report.errors.sort()
    return report
