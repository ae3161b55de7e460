"""django-hordak side of the credits benchmark (bench/settings_hordak.py installs it).

Chart of accounts: a liability "Points issued" and one asset account per member, so that
``issued.transfer_to(member, amount)`` (credit issued, debit member) raises both balances,
as hordak's ``transfer_to`` documents. Hordak keeps no balance column and no idempotency
key: a credit is one Transaction and two Legs, checked by hordak's deferred triggers.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection, transaction
from hordak.models import Account, AccountType, Leg, Transaction
from moneyed import Money

from bench.ledger_db import insert_select
from bench.ledger_runs import credit_points

CURRENCY = "EUR"
HORDAK_TABLES = "hordak_leg, hordak_transaction, hordak_account"


def hordak_chart(*, members: int) -> tuple[Account, list[Account]]:
    """A fresh chart of accounts, created through hordak's own API (MPTT root nodes)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {HORDAK_TABLES} RESTART IDENTITY CASCADE")
    issued = Account.objects.create(name="Points issued", type=AccountType.liability, code="2")
    accounts = [
        Account.objects.create(name=f"member {i}", type=AccountType.asset) for i in range(members)
    ]
    return issued, accounts


def hordak_history(*, issued: Account, accounts: list[Account], count: int) -> int:
    """Load ``count`` past credits (balanced transactions) so that hordak's tables are as
    large as Vafa's when the timed credits run. Hordak's row triggers are switched off
    during the load only; every transaction balances by construction."""
    params = {"count": count, "issued": issued.pk, "first": accounts[0].pk, "n": len(accounts)}
    series = "generate_series(1, %(count)s::bigint) AS g"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE hordak_leg DISABLE TRIGGER USER")
        tx = {"id": "g", "uuid": "gen_random_uuid()", "description": "'bench:history:' || g"}
        tx |= {"timestamp": "now()", "date": "now()::date"}
        insert_select(Transaction, tx, series, params)
        leg = {"uuid": "gen_random_uuid()", "transaction_id": "g", "currency": f"'{CURRENCY}'"}
        amount = "10 + mod(g, 491)"
        member = "%(first)s + abs(mod(hashint8extended(g, 5), %(n)s))"
        insert_select(Leg, {**leg, "account_id": "%(issued)s", "credit": amount}, series, params)
        insert_select(Leg, {**leg, "account_id": member, "debit": amount}, series, params)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending foreign key checks
        cursor.execute("ALTER TABLE hordak_leg ENABLE TRIGGER USER")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('hordak_transaction', 'id'), %s)", [count]
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {HORDAK_TABLES}")
    return count


def credits_hordak(
    *, issued: Account, accounts: list[Account], count: int, tag: str
) -> dict[str, Any]:
    """The benchmark's credits as hordak transfers, one database transaction each."""
    start = time.perf_counter()
    for i in range(count):
        issued.transfer_to(
            accounts[i % len(accounts)],
            Money(credit_points(i), CURRENCY),
            description=f"bench:credit:{tag}:{i}",
        )
    seconds = time.perf_counter() - start
    written = Transaction.objects.filter(description__startswith=f"bench:credit:{tag}:").count()
    assert written == count, (written, count)
    return {"seconds": seconds, "credits": count, "credits_per_s": count / seconds}


def hordak_balanced() -> bool:
    """Hordak's own check: all root accounts sum to zero."""
    Account.validate_accounting_equation()
    return True
