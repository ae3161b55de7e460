"""Emails of the rewards app."""

from __future__ import annotations

from django.urls import reverse

from accounts.emails import absolute_url
from loyalty.services.email_log import email_send_once
from loyalty.timing import last_valid_day
from rewards.models import Redemption


def redemption_email_send(*, redemption_id: int, token: str = "") -> None:
    """Send the voucher of a redemption, once (``token``: the sending task's id)."""
    redemption = (
        Redemption.objects.select_related("reward", "voucher", "account__member")
        .filter(pk=redemption_id)
        .first()
    )
    if redemption is None or not hasattr(redemption, "voucher"):
        return
    email_send_once(
        user=redemption.account.member,
        template="redemption",
        key=redemption.pk,
        token=token,
        context={
            "redemption": redemption,
            "voucher": redemption.voucher,
            "valid_through": last_valid_day(redemption.voucher.expires_at),
            "vouchers_url": absolute_url(reverse("home")),
        },
    )
