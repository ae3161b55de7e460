"""Random sequences of every ledger operation at random times; after each step every
invariant of the books must hold (``verify_ledger``'s checks) and the services must agree
with an independent count of what is spendable."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from loyalty.errors import InsufficientPoints, NotRestorable
from loyalty.models import Account, Entry, EntryKind, Lot
from loyalty.services.expiry import pending_release, points_expire
from loyalty.services.ledger import (
    credit_reverse,
    debit_restore,
    points_credit,
    points_debit,
)
from loyalty.verification import ledger_offences
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory

POINTS = st.integers(min_value=1, max_value=500)


class LedgerMachine(RuleBasedStateMachine):
    credits = Bundle("credits")
    debits = Bundle("debits")

    @initialize()
    def open_accounts(self) -> None:
        self.now = NOW
        self.accounts = [AccountFactory(), AccountFactory()]
        self.keys = 0
        self.run = uuid.uuid4().hex

    def _key(self) -> str:
        self.keys += 1
        # Not id(self): examples share one database, and a freed machine's id comes back.
        return f"{self.run}-{self.keys}"

    def _at(self) -> time_machine.travel:
        return time_machine.travel(self.now, tick=False)

    def _spendable(self, account: Account) -> int:
        lots = Lot.objects.spendable(as_of=self.now).filter(account=account)
        return sum(lots.values_list("remaining", flat=True))

    @rule(
        target=credits,
        who=st.integers(0, 1),
        points=POINTS,
        life=st.integers(1, 60),
        pending=st.integers(0, 20),
    )
    def credit(self, who: int, points: int, life: int, pending: int) -> Entry:
        with self._at():
            return points_credit(
                account=self.accounts[who],
                points=points,
                kind=EntryKind.EARN,
                idempotency_key=self._key(),
                available_at=self.now + timedelta(days=pending) if pending else None,
                expires_at=self.now + timedelta(days=pending + life),
                qualifying=True,
            )

    @rule(target=debits, who=st.integers(0, 1), points=POINTS)
    def debit(self, who: int, points: int) -> Entry:
        account = self.accounts[who]
        with self._at():
            affordable = self._spendable(account)
            try:
                entry = points_debit(account=account, points=points, idempotency_key=self._key())
            except InsufficientPoints:
                assert points > affordable
                return None
        assert points <= affordable
        return entry

    @rule(credit=credits, points=st.none() | POINTS)
    def reverse(self, credit: Entry, points: int | None) -> None:
        with self._at():
            result = credit_reverse(credit=credit, idempotency_key=self._key(), points=points)
        assert result.requested == result.from_lot + result.clawed_back + result.forgiven

    @rule(debit=consumes(debits))
    def restore(self, debit: Entry | None) -> None:
        if debit is None:
            return
        with self._at():
            debit_restore(debit=debit, idempotency_key=self._key())
            with pytest.raises(NotRestorable):
                debit_restore(debit=debit, idempotency_key=self._key())

    @rule(days=st.integers(1, 30))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule()
    def release(self) -> None:
        with self._at():
            pending_release(as_of=self.now)
            assert pending_release(as_of=self.now).lots == 0

    @rule(batch=st.integers(1, 3))
    def expire(self, batch: int) -> None:
        with self._at():
            points_expire(as_of=self.now, batch_size=batch)
            assert points_expire(as_of=self.now).lots == 0

    @rule(credit=credits)
    def replay_credit(self, credit: Entry) -> None:
        entries = Entry.objects.count()
        with self._at():
            again = points_credit(
                account=credit.account,
                points=credit.lot.points,
                kind=credit.kind,
                idempotency_key=credit.idempotency_key,
            )
        assert again.pk == credit.pk
        assert Entry.objects.count() == entries

    @invariant()
    def books_balance(self) -> None:
        assert ledger_offences() == []


@pytest.mark.django_db
def test_ledger_invariants_hold_under_random_operations() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
