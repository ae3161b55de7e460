"""verify_ledger also catches a voucher paid twice: used at a shop and refunded."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loyalty.services.ledger import account_open, points_credit
from loyalty.verification import ledger_offences
from rewards.models import Voucher, VoucherStatus
from rewards.services import redemption_cancel, reward_redeem
from tests.accounts.factories import UserFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db


def cancelled_redemption():
    account = account_open(member=UserFactory())
    points_credit(account=account, points=300, kind="earn", idempotency_key=f"f{account.pk}")
    redemption = reward_redeem(account=account, reward=RewardFactory(), idempotency_key="r")
    return redemption_cancel(redemption=redemption, by=account.member)


def test_a_used_voucher_whose_points_were_given_back_fails_verify_ledger() -> None:
    redemption = cancelled_redemption()
    voucher = redemption.voucher
    assert ledger_offences() == []
    # the state the cancel-versus-use race used to leave behind
    Voucher.objects.filter(pk=voucher.pk).update(
        status=VoucherStatus.USED, used_order_id="POS-7", used_at=timezone.now()
    )
    err = StringIO()

    with pytest.raises(CommandError, match="NOT consistent: 1 offending rows"):
        call_command("verify_ledger", stdout=StringIO(), stderr=err)

    assert err.getvalue() == (
        "used_voucher_not_refunded: a voucher was used at a shop but its redemption was "
        "cancelled and the points given back (paid twice): "
        f"({voucher.pk}, '{voucher.code}', 'used', 'POS-7', {redemption.pk}, 'cancelled', "
        f"{redemption.restore_entry_id})\n"
    )


def test_a_cancelled_voucher_that_kept_its_order_id_is_caught_too() -> None:
    redemption = cancelled_redemption()
    Voucher.objects.filter(pk=redemption.voucher.pk).update(used_order_id="POS-8")

    assert [(o.check, o.row[0]) for o in ledger_offences()] == [
        ("used_voucher_not_refunded", redemption.voucher.pk)
    ]
