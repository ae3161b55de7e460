"""Every write of the rewards app: redeem, cancel, use and expire vouchers.

A redemption is one atomic step: lock the member's account, check the reward's window,
tier and per-member limit, take one from stock with a conditional update (no oversell,
however many race for the last one), debit the points through the ledger (earliest-expiring
first), and issue a voucher. Idempotent by key: a double click or a retry never redeems
twice. Cancelling gives the points back to the lots they came from, returns the stock and
cancels the voucher, all in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.outbox import task_enqueue
from loyalty.errors import IdempotencyConflict
from loyalty.keys import entry_key
from loyalty.lock_objects import account_lock
from loyalty.models import Account, EntryKind
from loyalty.services.ledger import debit_restore, points_debit
from loyalty.timing import end_of_day, local_date
from rewards.codes import voucher_code_new
from rewards.errors import RewardRefused
from rewards.models import Redemption, RedemptionStatus, Reward, Voucher, VoucherStatus
from rewards.selectors import catalogue_changed, reward_eligibility
from rewards.tasks import redemption_email_task


def _replayed(*, key: str, account: Account, reward: Reward) -> Redemption | None:
    redemption = Redemption.objects.filter(idempotency_key=key).first()
    if redemption and (redemption.account_id, redemption.reward_id) != (account.pk, reward.pk):
        raise IdempotencyConflict(key)
    if redemption is not None:
        redemption.replayed = True
    return redemption


def _check(reward: Reward, account: Account, at: datetime) -> None:
    if not Reward.objects.live(at=at).filter(pk=reward.pk).exists():
        raise RewardRefused(_("This reward is not available now."), code="reward_unavailable")
    redeemed = Redemption.objects.filter(
        account=account, reward=reward, status=RedemptionStatus.COMPLETED
    ).count()
    verdict = reward_eligibility(reward=reward, account=account, redeemed=redeemed)
    if not verdict.eligible and verdict.code != "insufficient_points":
        raise RewardRefused(verdict.reason, code=verdict.code)


def _take_stock(reward: Reward) -> None:
    if reward.stock is None:
        return
    taken = Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1)
    if taken != 1:
        raise RewardRefused(_("Out of stock."), code="out_of_stock")
    transaction.on_commit(catalogue_changed)


def _issue_voucher(redemption: Redemption, at: datetime) -> Voucher:
    expires_at = end_of_day(local_date(at) + timedelta(days=redemption.reward.voucher_valid_days))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(
                    redemption=redemption, code=voucher_code_new(), expires_at=expires_at
                )
        except IntegrityError:  # a 50-bit collision: astronomically rare, try another
            continue
    raise RuntimeError("could not issue a unique voucher code")


@transaction.atomic
def reward_redeem(*, account: Account, reward: Reward, idempotency_key: str) -> Redemption:
    """Spend the member's points on ``reward`` and issue a voucher (see module docs)."""
    now = timezone.now()
    account = account_lock(account_id=account.pk)
    if existing := _replayed(key=idempotency_key, account=account, reward=reward):
        return existing
    account = Account.objects.select_related("tier").get(pk=account.pk)
    reward = Reward.objects.select_related("min_tier").get(pk=reward.pk)
    _check(reward, account, now)
    _take_stock(reward)
    entry = points_debit(
        account=account,
        points=reward.points_cost,
        kind=EntryKind.REDEEM,
        idempotency_key=entry_key("redeem", idempotency_key),
        source=f"reward:{reward.pk}",
        details={"reward_id": reward.pk, "reward": reward.name},
    )
    redemption = Redemption.objects.create(
        account=account,
        reward=reward,
        points=reward.points_cost,
        entry=entry,
        idempotency_key=idempotency_key,
    )
    _issue_voucher(redemption, now)
    _notify(redemption)
    return redemption


def _notify(redemption: Redemption) -> None:
    task_enqueue(task=redemption_email_task, args=[redemption.pk])


def _cancellable(redemption: Redemption, *, by_member: bool, now: datetime) -> None:
    voucher = redemption.voucher
    if voucher.status != VoucherStatus.ISSUED or voucher.expires_at <= now:
        raise RewardRefused(
            _("Only an unused, valid voucher can be cancelled."), code="voucher_not_cancellable"
        )
    window = timedelta(hours=settings.REDEMPTION_CANCEL_HOURS)
    if by_member and redemption.created_at + window <= now:
        raise RewardRefused(
            _("Redemptions can be cancelled within %(hours)d hours.")
            % {"hours": settings.REDEMPTION_CANCEL_HOURS},
            code="cancel_window_passed",
        )


def _voucher_cancel(voucher: Voucher, *, now: datetime) -> None:
    """Cancel the voucher only if it is still unused and valid: a conditional update whose
    row count decides the race with ``voucher_use`` (the shop) and the expiry job. On
    PostgreSQL the loser's UPDATE waits for the winner's commit and then matches nothing."""
    cancelled = Voucher.objects.filter(
        pk=voucher.pk, status=VoucherStatus.ISSUED, expires_at__gt=now
    ).update(status=VoucherStatus.CANCELLED)
    if cancelled != 1:
        raise RewardRefused(
            _("Only an unused, valid voucher can be cancelled."), code="voucher_not_cancellable"
        )


@transaction.atomic
def redemption_cancel(
    *, redemption: Redemption, by: AbstractBaseUser, reason: str = "", by_member: bool = False
) -> Redemption:
    """Undo a redemption: points back to their lots, stock returned, voucher cancelled.
    Members may cancel their own unused vouchers within ``REDEMPTION_CANCEL_HOURS``."""
    now = timezone.now()
    account_lock(account_id=redemption.account_id)
    redemption = (
        Redemption.objects.select_for_update(of=("self",))
        .select_related("voucher", "reward")
        .get(pk=redemption.pk)
    )
    if redemption.status == RedemptionStatus.CANCELLED:
        return redemption
    _cancellable(redemption, by_member=by_member, now=now)
    _voucher_cancel(redemption.voucher, now=now)
    restore = debit_restore(
        debit=redemption.entry,
        idempotency_key=entry_key("cancel", redemption.idempotency_key),
        source=f"redemption:{redemption.pk}",
        note=reason,
        created_by=by,
        details={"reward_id": redemption.reward_id, "reward": redemption.reward.name},
    )
    if redemption.reward.stock is not None:
        Reward.objects.filter(pk=redemption.reward_id).update(stock=F("stock") + 1)
        transaction.on_commit(catalogue_changed)
    Redemption.objects.filter(pk=redemption.pk).update(
        status=RedemptionStatus.CANCELLED,
        cancelled_at=now,
        cancelled_by=by,
        cancel_reason=reason[:200],
        restore_entry=restore,
    )
    redemption.refresh_from_db()
    return redemption


@transaction.atomic
def voucher_use(*, voucher: Voucher, order_id: str) -> Voucher:
    """Mark a voucher used at checkout, exactly once (a conditional update). Repeating the
    call for the same order is harmless; another order is refused."""
    now = timezone.now()
    used = Voucher.objects.filter(
        pk=voucher.pk, status=VoucherStatus.ISSUED, expires_at__gt=now
    ).update(status=VoucherStatus.USED, used_at=now, used_order_id=order_id)
    voucher.refresh_from_db()
    if used == 1 or (voucher.status == VoucherStatus.USED and voucher.used_order_id == order_id):
        return voucher  # a retry for the same order gets the same answer
    if voucher.status == VoucherStatus.USED:
        raise RewardRefused(
            _("This voucher was already used (order %(order)s).")
            % {"order": voucher.used_order_id},
            code="voucher_used",
        )
    if voucher.status == VoucherStatus.CANCELLED:
        raise RewardRefused(_("This voucher was cancelled."), code="voucher_cancelled")
    raise RewardRefused(_("This voucher has expired."), code="voucher_expired")


@transaction.atomic
def vouchers_cancel_for_closing(*, account_id: int) -> int:
    """An account is closing: its unused vouchers stop working at once. No points come back
    and the redemptions stay as they are (the ledger keeps the debits for accounting).
    Under the account lock, so no redemption can slip a fresh voucher in meanwhile."""
    account_lock(account_id=account_id)
    return Voucher.objects.filter(
        redemption__account_id=account_id, status=VoucherStatus.ISSUED
    ).update(status=VoucherStatus.CANCELLED)


def vouchers_expire(*, as_of: datetime | None = None) -> int:
    """Mark issued vouchers past their validity expired (set-based, idempotent)."""
    as_of = as_of or timezone.now()
    return Voucher.objects.filter(status=VoucherStatus.ISSUED, expires_at__lte=as_of).update(
        status=VoucherStatus.EXPIRED
    )
