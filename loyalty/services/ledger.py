"""Writes that move points: credit, debit, reverse, restore and staff adjustment.

Each function is atomic, takes the member's account row lock first, and is idempotent by
key: calling it again with the same key returns the first entry, and the same key with a
different operation raises :class:`IdempotencyConflict`. They use plain ``atomic`` so the
reward and referral services can compose them inside their own durable transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidPoints,
    NotRestorable,
    NotReversible,
)
from loyalty.lock_objects import account_lock, joins_transaction
from loyalty.models import (
    EARNING_KINDS,
    Account,
    Allocation,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Tier,
)
from loyalty.services.credit_sql import CreditPlan, credit_sql, credits_sql
from loyalty.services.expiry import account_expire_due
from loyalty.timing import rolling_expiry

CREDIT_KINDS = (*EARNING_KINDS, EntryKind.ADJUST)
LIFETIME_KINDS = (*EARNING_KINDS, EntryKind.ADJUST)


@dataclass(frozen=True)
class ReversalResult:
    """What a reversal did: taken from the credit's own lot, clawed back from other lots
    (the part already spent), and forgiven (spent, but the balance could not cover it)."""

    entry: Entry | None
    requested: int
    from_lot: int
    clawed_back: int
    forgiven: int


def account_for_member(*, member: AbstractBaseUser) -> Account:
    """The member's points account, opened on first use in the entry tier."""
    account = Account.objects.filter(member=member).first()
    if account is None:
        account = account_open(member=member)
    return account


def account_open(*, member: AbstractBaseUser) -> Account:
    entry_tier = Tier.objects.filter(threshold=0).order_by("rank").first()
    now = timezone.now() if entry_tier else None
    account, _created = Account.objects.get_or_create(
        member=member, defaults={"tier": entry_tier, "tier_since": now}
    )
    return account


def _require_points(points: Any) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidPoints(_("Points must be a positive whole number."))
    return points


def _replayed(*, key: str, account: Account, kind: str, amount: int) -> Entry | None:
    entry = Entry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    same = entry.account_id == account.pk and entry.kind == kind
    if (
        not same
        or entry.details.get("requested", abs(entry.points + entry.pending_points)) != amount
    ):
        raise IdempotencyConflict(key)
    return entry


def _account_add(
    account: Account, *, balance: int = 0, pending: int = 0, lifetime: int = 0, qualifying: int = 0
) -> None:
    Account.objects.filter(pk=account.pk).update(
        balance=F("balance") + balance,
        pending=F("pending") + pending,
        lifetime_earned=F("lifetime_earned") + lifetime,
        qualifying_points=F("qualifying_points") + qualifying,
        updated_at=timezone.now(),
    )
    # The row is locked, so the in-memory copy can follow without another query.
    account.balance += balance
    account.pending += pending
    account.lifetime_earned += lifetime
    account.qualifying_points += qualifying


@joins_transaction
def points_credit(
    *,
    account: Account,
    points: int,
    kind: str,
    idempotency_key: str,
    occurred_at: datetime | None = None,
    expires_at: datetime | None = None,
    available_at: datetime | None = None,
    qualifying: bool = False,
    source: str = "",
    details: dict[str, Any] | None = None,
    note: str = "",
    created_by: AbstractBaseUser | None = None,
) -> Entry:
    """Add points in a new lot. With ``available_at`` in the future the points are pending
    (not spendable, not toward tier) until ``release_pending`` makes them available."""
    plan = _credit_plan(
        account=account,
        points=points,
        kind=kind,
        idempotency_key=idempotency_key,
        occurred_at=occurred_at,
        expires_at=expires_at,
        available_at=available_at,
        qualifying=qualifying,
        source=source,
        details=details,
        note=note,
        created_by=created_by,
    )
    if connection.vendor == "postgresql":
        return _credit_fast(plan, account)
    return _credit_orm(plan, account)


@joins_transaction
def points_credit_many(*, account: Account, credits: list[dict[str, Any]]) -> list[Entry]:
    """Several credits to one account (each a dict of ``points_credit``'s arguments but
    ``account``), written together: on PostgreSQL in one statement. Same result, same
    idempotency, as calling ``points_credit`` for each in turn."""
    if connection.vendor == "postgresql" and credits:
        plans = [_credit_plan(account=account, **credit) for credit in credits]
        if written := credits_sql(plans):
            entries, sums = written
            balances = ("balance", "pending", "lifetime_earned", "qualifying_points")
            for name, value in zip(balances, sums, strict=True):
                setattr(account, name, value)
            return entries
    # Elsewhere, or when a key was already taken: one by one (replaying or refusing).
    return [points_credit(account=account, **credit) for credit in credits]


def _credit_plan(
    *,
    account: Account,
    points: int,
    kind: str,
    idempotency_key: str,
    occurred_at: datetime | None = None,
    expires_at: datetime | None = None,
    available_at: datetime | None = None,
    qualifying: bool = False,
    source: str = "",
    details: dict[str, Any] | None = None,
    note: str = "",
    created_by: AbstractBaseUser | None = None,
) -> CreditPlan:
    _require_points(points)
    if kind not in CREDIT_KINDS:
        raise InvalidPoints(_("%(kind)s is not a kind of credit.") % {"kind": kind})
    now = timezone.now()
    occurred_at = occurred_at or now
    available_at = available_at or occurred_at
    expires_at = expires_at or rolling_expiry(earned_at=occurred_at)
    if expires_at <= max(available_at, now):
        raise InvalidPoints(_("These points would already have expired."))
    return CreditPlan(
        account_id=account.pk,
        kind=kind,
        points=points,
        key=idempotency_key,
        pending=available_at > now,
        qualifying=qualifying,
        lifetime=points if kind in LIFETIME_KINDS else 0,
        available_at=available_at,
        expires_at=expires_at,
        occurred_at=occurred_at,
        now=now,
        source=source,
        details=details or {},
        note=note,
        created_by_id=getattr(created_by, "pk", None),
    )


def _credit_fast(plan: CreditPlan, account: Account) -> Entry:
    entry, sums = credit_sql(plan)
    if entry is None:
        return _replayed(key=plan.key, account=account, kind=plan.kind, amount=plan.points)
    account.balance, account.pending, account.lifetime_earned, account.qualifying_points = sums
    return entry


def _credit_orm(plan: CreditPlan, account: Account) -> Entry:
    locked = account_lock(account_id=account.pk)
    if existing := _replayed(key=plan.key, account=locked, kind=plan.kind, amount=plan.points):
        return existing
    lot = Lot.objects.create(**plan.lot_fields())
    entry = Entry.objects.create(lot=lot, **plan.entry_fields())
    _account_add(
        locked,
        balance=entry.points,
        pending=entry.pending_points,
        lifetime=plan.lifetime,
        qualifying=plan.counted,
    )
    # The caller's copy follows too, as on the PostgreSQL path.
    account.balance, account.pending = locked.balance, locked.pending
    account.lifetime_earned, account.qualifying_points = (
        locked.lifetime_earned,
        locked.qualifying_points,
    )
    return entry


def _take_fifo(*, account: Account, points: int, as_of: datetime, skip: int | None = None) -> dict:
    """Choose lots for a debit, earliest expiry first, then oldest: {lot: points taken}."""
    takes: dict[Lot, int] = {}
    need = points
    lots = Lot.objects.spendable(as_of=as_of).filter(account=account).exclude(pk=skip)
    for lot in lots.only("id", "remaining", "points").iterator(chunk_size=100):
        take = min(need, lot.remaining)
        takes[lot] = take
        need -= take
        if need == 0:
            break
    return takes


def _allocate(*, entry: Entry, takes: dict[Lot, int]) -> None:
    """Record the lots a debit consumed and lower their remaining points."""
    Allocation.objects.bulk_create(
        [Allocation(entry=entry, lot=lot, points=n) for lot, n in takes.items() if n]
    )
    for lot, n in takes.items():
        lot.remaining -= n
    Lot.objects.bulk_update([lot for lot in takes if takes[lot]], ["remaining"])


@joins_transaction
def points_debit(
    *,
    account: Account,
    points: int,
    kind: str = EntryKind.REDEEM,
    idempotency_key: str,
    occurred_at: datetime | None = None,
    source: str = "",
    details: dict[str, Any] | None = None,
    note: str = "",
    created_by: AbstractBaseUser | None = None,
) -> Entry:
    """Spend points from available lots, earliest expiry first; refuse to overspend."""
    _require_points(points)
    now = timezone.now()
    account = account_lock(account_id=account.pk)
    if existing := _replayed(key=idempotency_key, account=account, kind=kind, amount=points):
        return existing
    account_expire_due(account_id=account.pk, as_of=now)
    account.refresh_from_db(fields=["balance"])
    if account.balance < points:
        raise InsufficientPoints(available=account.balance, requested=points)
    entry = Entry.objects.create(
        account=account,
        kind=kind,
        points=-points,
        idempotency_key=idempotency_key,
        source=source,
        details=details or {},
        note=note,
        occurred_at=occurred_at or now,
        created_by=created_by,
    )
    _allocate(entry=entry, takes=_take_fifo(account=account, points=points, as_of=now))
    _account_add(account, balance=-points)
    return entry


@dataclass(frozen=True)
class _Reversal:
    credit: Entry
    lot: Lot
    requested: int
    key: str
    now: datetime
    fields: dict[str, Any]


@joins_transaction
def credit_reverse(
    *,
    credit: Entry,
    idempotency_key: str,
    points: int | None = None,
    source: str = "",
    note: str = "",
    details: dict[str, Any] | None = None,
    created_by: AbstractBaseUser | None = None,
) -> ReversalResult:
    """Undo a credit, wholly or in part (a refund); ``points=None`` reverses all that is left.

    Policy (docs/ledger.md): pending points are simply cancelled; available points are
    taken from the credit's own lot first; the part already spent is clawed back from the
    member's other points, earliest expiry first, but never below a zero balance (the rest
    is forgiven and recorded); the part that already expired is not taken twice.
    """
    if credit.lot_id is None or credit.kind not in CREDIT_KINDS or credit.points < 0:
        raise NotReversible(_("Only a credit can be reversed."))
    if points is not None:
        _require_points(points)
    now = timezone.now()
    account_lock(account_id=credit.account_id)
    if existing := Entry.objects.filter(idempotency_key=idempotency_key).first():
        return _reversal_replayed(existing, credit=credit, points=points)
    account_expire_due(account_id=credit.account_id, as_of=now)
    lot = Lot.objects.get(pk=credit.lot_id)
    reversible = max(0, lot.points - lot.expired - lot.reversed)
    requested = reversible if points is None else min(points, reversible)
    if requested == 0:
        return ReversalResult(None, 0, 0, 0, 0)
    fields = {"source": source, "note": note, "created_by": created_by, "details": details or {}}
    reversal = _Reversal(credit, lot, requested, idempotency_key, now, fields)
    if lot.state == LotState.PENDING:
        return _reverse_pending(reversal)
    return _reverse_available(reversal)


def _reversal_replayed(entry: Entry, *, credit: Entry, points: int | None) -> ReversalResult:
    same = entry.kind == EntryKind.REVERSAL and entry.related_entry_id == credit.pk
    if not same or (points is not None and entry.details.get("requested") != points):
        raise IdempotencyConflict(entry.idempotency_key)
    return _result_from(entry)


def _result_from(entry: Entry) -> ReversalResult:
    d = entry.details
    return ReversalResult(entry, d["requested"], d["from_lot"], d["clawed_back"], d["forgiven"])


def _reversal_entry(r: _Reversal, *, points: int, pending: int, facts: dict) -> Entry:
    qualifying = points if r.lot.qualifying else 0
    return Entry.objects.create(
        account_id=r.credit.account_id,
        kind=EntryKind.REVERSAL,
        points=points,
        pending_points=pending,
        qualifying_points=qualifying,
        lot=r.lot if pending else None,
        related_entry=r.credit,
        idempotency_key=r.key,
        occurred_at=r.now,
        **{**r.fields, "details": {**r.fields["details"], **facts}},
    )


def _reverse_pending(r: _Reversal) -> ReversalResult:
    lot = r.lot
    lot.remaining -= r.requested
    lot.reversed += r.requested
    lot.state = LotState.REVERSED if lot.remaining == 0 else LotState.PENDING
    lot.save(update_fields=["remaining", "reversed", "state"])
    facts = {"requested": r.requested, "from_lot": r.requested, "clawed_back": 0, "forgiven": 0}
    entry = _reversal_entry(r, points=0, pending=-r.requested, facts=facts)
    lifetime = -r.requested if r.credit.kind in LIFETIME_KINDS else 0
    _account_add(entry.account, pending=-r.requested, lifetime=lifetime)
    return _result_from(entry)


def _reverse_available(r: _Reversal) -> ReversalResult:
    account = Account.objects.get(pk=r.credit.account_id)
    here = r.lot.remaining if r.lot.state == LotState.AVAILABLE else 0
    from_lot = min(r.requested, here)
    others = _take_fifo(account=account, points=r.requested - from_lot, as_of=r.now, skip=r.lot.pk)
    clawed = sum(others.values())
    taken = from_lot + clawed
    forgiven = r.requested - taken
    Lot.objects.filter(pk=r.lot.pk).update(
        reversed=F("reversed") + r.requested, owed=F("owed") + forgiven
    )
    if taken == 0:
        return ReversalResult(None, r.requested, 0, 0, forgiven)
    facts = {"requested": r.requested, "from_lot": from_lot, "clawed_back": clawed}
    entry = _reversal_entry(r, points=-taken, pending=0, facts={**facts, "forgiven": forgiven})
    _allocate(entry=entry, takes={r.lot: from_lot, **others})
    lifetime = -taken if r.credit.kind in LIFETIME_KINDS else 0
    _account_add(account, balance=-taken, lifetime=lifetime, qualifying=entry.qualifying_points)
    return _result_from(entry)


@joins_transaction
def debit_restore(
    *,
    debit: Entry,
    idempotency_key: str,
    source: str = "",
    note: str = "",
    details: dict[str, Any] | None = None,
    created_by: AbstractBaseUser | None = None,
) -> Entry:
    """Give a debit's points back to the very lots it took them from, with their original
    expiry. Points whose lot has meanwhile passed its expiry expire again at once.

    If a lot's credit was reversed while those points were spent, and the reversal had to
    forgive part of it (the balance could not cover it), that debt is settled first: those
    points are not given back (``details.settled``). The restore entry is written even when
    that leaves nothing to give back, so a debit is restored exactly once."""
    if debit.points >= 0 or debit.kind not in (EntryKind.REDEEM, EntryKind.ADJUST):
        raise NotRestorable(_("Only a redemption or a negative adjustment can be restored."))
    now = timezone.now()
    account = account_lock(account_id=debit.account_id)
    if existing := Entry.objects.filter(idempotency_key=idempotency_key).first():
        if existing.kind != EntryKind.RESTORE or existing.related_entry_id != debit.pk:
            raise IdempotencyConflict(idempotency_key)
        return existing
    if Entry.objects.filter(kind=EntryKind.RESTORE, related_entry=debit).exists():
        raise NotRestorable(_("These points were already given back."))
    gives, settled = _restorable(debit=debit)
    facts = {"settled": settled} if settled else {}
    entry = Entry.objects.create(
        account=account,
        kind=EntryKind.RESTORE,
        points=sum(gives.values()),
        related_entry=debit,
        idempotency_key=idempotency_key,
        source=source,
        details={**(details or {}), **facts},
        note=note,
        occurred_at=now,
        created_by=created_by,
    )
    _give_back(entry=entry, gives=gives)
    _account_add(account, balance=entry.points)
    account_expire_due(account_id=account.pk, as_of=now)
    return entry


def _restorable(*, debit: Entry) -> tuple[dict[Lot, int], dict[str, int]]:
    """Per lot, the points to give back, less any forgiven reversal debt they settle."""
    gives: dict[Lot, int] = {}
    settled: dict[str, int] = {}
    for allocation in debit.allocations.select_related("lot"):
        lot = allocation.lot
        owed = min(allocation.points, lot.owed)
        lot.owed -= owed
        gives[lot] = allocation.points - owed
        if owed:
            settled[str(lot.pk)] = owed
    return gives, settled


def _give_back(*, entry: Entry, gives: dict[Lot, int]) -> None:
    Allocation.objects.bulk_create(
        [Allocation(entry=entry, lot=lot, points=-n) for lot, n in gives.items() if n]
    )
    for lot, n in gives.items():
        lot.remaining += n
        if n and lot.state == LotState.EXPIRED:
            lot.state = LotState.AVAILABLE
    Lot.objects.bulk_update(list(gives), ["remaining", "state", "owed"])


@joins_transaction
def points_adjust(
    *,
    account: Account,
    points: int,
    reason: str,
    staff_user: AbstractBaseUser,
    idempotency_key: str,
    expires_at: datetime | None = None,
) -> Entry:
    """A staff correction, positive or negative, always with a reason and the staff user."""
    if not reason or not reason.strip():
        raise InvalidPoints(_("A reason is required for an adjustment."))
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidPoints(_("An adjustment must be a non-zero whole number of points."))
    common = {
        "account": account,
        "kind": EntryKind.ADJUST,
        "idempotency_key": idempotency_key,
        "source": f"staff:{staff_user.pk}",
        "note": reason.strip(),
        "created_by": staff_user,
    }
    if points > 0:
        return points_credit(points=points, expires_at=expires_at, **common)
    return points_debit(points=-points, **common)
