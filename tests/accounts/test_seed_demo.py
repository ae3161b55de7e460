from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from loyalty.models import Entry, EntryKind, Lot, LotState, Tier
from loyalty.verification import ledger_offences
from referrals.models import Referral
from rewards.models import Reward

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_leaves_consistent_books(settings) -> None:
    settings.DEBUG = True
    out = StringIO()

    call_command("seed_demo", stdout=out)
    counts = (User.objects.count(), Entry.objects.count())
    call_command("seed_demo", stdout=StringIO())

    assert (User.objects.count(), Entry.objects.count()) == counts
    assert counts[0] == 12  # admin, support, marketing, five members, four friends
    assert "admin@vafa.example / vafa-demo-2026" in out.getvalue()
    assert ledger_offences() == []
    assert User.objects.get(email="omid@vafa.example").loyalty_account.pending > 0
    states = set(Referral.objects.values_list("status", flat=True))
    assert states == {"rewarded", "pending", "review", "rejected", "expired"}
    rewarded = Referral.objects.get(status="rewarded")
    assert (rewarded.referrer_points, rewarded.referee_points) == (200, 100)
    paid = Lot.objects.filter(kind=EntryKind.REFERRAL)
    assert set(paid.values_list("state", flat=True)) == {LotState.PENDING}  # return window
    held = Referral.objects.get(status="review", qualified_at__isnull=False)
    assert [flag["rule"] for flag in held.flags] == ["same_network"]
    assert (held.referee.email, held.rewarded_at) == ("neda.friend@vafa-demo.example", None)
    assert not Entry.objects.filter(details__referral_id=held.pk).exists()
    flagged = Referral.objects.get(status="review", qualified_at__isnull=True)
    assert [flag["rule"] for flag in flagged.flags] == ["disposable_email"]
    assert Reward.objects.count() == 11
    assert Tier.objects.count() == 4


def test_seed_demo_refuses_to_run_in_production(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1 or --force"):
        call_command("seed_demo", stdout=StringIO())
    assert User.objects.count() == 0
