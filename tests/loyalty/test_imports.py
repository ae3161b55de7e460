from __future__ import annotations

import io
import json
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.urls import reverse

from loyalty.models import (
    Campaign,
    CampaignKind,
    Entry,
    EntryKind,
    Event,
    EventType,
    MemberSegment,
)
from loyalty.services.earning import EventInput, event_record
from loyalty.services.imports import events_import, rows_read, writing
from loyalty.services.imports.common import Row
from loyalty.services.imports.writing import _chunks
from loyalty.services.ledger import account_open
from loyalty.verification import ledger_offences
from referrals.codes import referral_code_for
from referrals.models import Qualification, Referral, ReferralStatus
from referrals.services import program_settings, referral_attach
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import (
    AccountFactory,
    CampaignFactory,
    EarningRuleFactory,
    TierFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

HEADER = "order_id,member_email,amount,currency,occurred_at\n"


@pytest.fixture(autouse=True)
def _program(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1.00"))


def run_import(text: str, **kwargs):
    return events_import(rows=rows_read(io.StringIO(text)), **kwargs)


def test_good_rows_land_and_bad_rows_are_reported_by_line(tmp_path) -> None:
    ana = AccountFactory(member__email="ana@example.com")
    csv = HEADER + (
        "A1,ana@example.com,10.50,EUR,2026-05-30T10:00:00Z\n"  # line 2: ok
        "A2,ANA@example.com,-3,EUR,\n"  # 3: negative
        "A3,nobody@example.com,5,EUR,\n"  # 4: unknown member
        "A4,ana@example.com,5,XYZ,\n"  # 5: currency
        "A5,ana@example.com,5,EUR,2999-01-01T00:00:00Z\n"  # 6: future
        ",ana@example.com,5,EUR,\n"  # 7: missing order
        "A1,ana@example.com,7,EUR,\n"  # 8: repeats line 2
        "A6,ana@example.com,20,EUR,\n"  # 9: ok (now)
        "A7,ana@example.com,5,USD,\n"  # 10: ISO but not accepted
    )

    report = run_import(csv, chunk_size=1)

    assert (report.imported, report.skipped, report.points) == (2, 0, 30)
    assert [line for line, _message in report.errors] == [3, 4, 5, 6, 7, 8, 10]
    messages = dict(report.errors)
    assert "unknown member nobody@example.com" in messages[4]
    assert "unknown currency XYZ" in messages[5]
    assert "repeats line 2" in messages[8]
    assert "accepted in EUR" in messages[10]
    ana.refresh_from_db()
    assert (ana.balance, ana.pending, ana.lifetime_earned) == (0, 30, 30)
    assert ledger_offences() == []


def test_import_is_idempotent_by_order_id() -> None:
    AccountFactory(member__email="ana@example.com")
    csv = HEADER + "B1,ana@example.com,10,EUR,\nB2,ana@example.com,20,EUR,\n"
    run_import(csv)

    again = run_import(csv + "B3,ana@example.com,5,EUR,\n")

    assert (again.imported, again.skipped, again.errors) == (1, 2, [])
    assert Event.objects.count() == 3
    assert Entry.objects.count() == 3


def test_imported_points_match_the_events_api(settings) -> None:
    TierFactory(name="Silver", rank=0, threshold=0, multiplier=Decimal("1.25"))
    campaign = CampaignFactory(
        kind=CampaignKind.MULTIPLIER, multiplier=Decimal("2.00"), budget_points=1000
    )
    by_api = account_open(member=UserFactory(email="api@example.com"))
    by_csv = account_open(member=UserFactory(email="csv@example.com"))
    data = EventInput(
        idempotency_key="api-1",
        type=EventType.PURCHASE,
        account=by_api,
        occurred_at=NOW,
        amount=Decimal("80.00"),
        currency="EUR",
        order_id="API-1",
    )
    api = event_record(data=data).body

    report = run_import(HEADER + f"CSV-1,csv@example.com,80.00,EUR,{NOW.isoformat()}\n")

    by_api.refresh_from_db()
    by_csv.refresh_from_db()
    assert report.points == api["points_awarded"] == 80 + 20 + 80
    assert (by_csv.pending, by_csv.lifetime_earned) == (by_api.pending, by_api.lifetime_earned)
    parts = sorted(Entry.objects.filter(account=by_csv).values_list("details__part", flat=True))
    assert parts == ["base", f"campaign:{campaign.pk}", "tier"]
    assert _ledger_shape(by_csv) == _ledger_shape(by_api)
    assert ledger_offences() == []


def _ledger_shape(account) -> list[tuple]:
    """What a member sees of each credit, without ids, keys or order numbers."""
    rows = Entry.objects.filter(account=account).select_related("lot").order_by("details__part")
    return [
        (
            e.kind,
            e.points,
            e.pending_points,
            e.qualifying_points,
            e.source.split(":")[0],
            e.details["event_type"],
            e.lot.state,
            e.lot.remaining,
            e.lot.qualifying,
            e.lot.expires_at,
            e.lot.available_at,
        )
        for e in rows
    ]


def test_import_respects_campaign_budget() -> None:
    campaign = CampaignFactory(
        kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=30, budget_points=50
    )
    AccountFactory(member__email="a@example.com")
    AccountFactory(member__email="b@example.com")
    csv = HEADER + "".join(f"C{i},{'ab'[i % 2]}@example.com,10,EUR,\n" for i in range(4))

    run_import(csv, chunk_size=3)

    campaign.refresh_from_db()
    bonus = sum(Entry.objects.filter(kind=EntryKind.BONUS).values_list("pending_points", flat=True))
    assert bonus == campaign.budget_used == 50


def test_an_imported_purchase_can_be_refunded_through_the_engine() -> None:
    account = AccountFactory(member__email="ana@example.com")
    run_import(HEADER + "R1,ana@example.com,40,EUR,\n")

    data = EventInput(
        idempotency_key="refund-1",
        type=EventType.REFUND,
        account=account,
        occurred_at=NOW,
        amount=Decimal("10"),
        currency="EUR",
        order_id="R1",
    )
    body = event_record(data=data).body

    assert body["points_awarded"] == -10
    assert ledger_offences() == []


def test_command_prints_a_report_and_fails_when_rows_were_refused(tmp_path) -> None:
    AccountFactory(member__email="ana@example.com")
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "D1,ana@example.com,12,EUR,\nD2,ana@example.com,oops,EUR,\n")
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="1 rows were refused"):
        call_command("import_events", str(path), stdout=out, stderr=err)

    assert "imported 1 purchases (12 points)" in out.getvalue()
    assert "line 3: amount must be a number" in err.getvalue()
    assert Event.objects.get().order_id == "D1"


def test_admin_upload_needs_the_permission(client) -> None:
    AccountFactory(member__email="ana@example.com")
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    url = reverse("admin:loyalty_event_import")
    upload = SimpleUploadedFile("o.csv", (HEADER + "E1,ana@example.com,9,EUR,\n").encode())

    assert client.post(url, {"file": upload}).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="import_events"))
    upload.seek(0)
    response = client.post(url, {"file": upload})

    assert response.status_code == 200
    assert "Imported 1 purchases (9 points)" in response.content.decode()
    assert Event.objects.get().order_id == "E1"


def test_chunks_never_split_a_members_rows() -> None:
    rows = [Row(line=n, order_id=f"O{n}", key="", amount=Decimal(1), currency="EUR",
                occurred_at=NOW, account_id=n // 3) for n in range(10)]  # fmt: skip

    chunks = list(_chunks(rows, 2))

    assert [[r.account_id for r in chunk] for chunk in chunks] == [
        [0, 0, 0], [1, 1, 1], [2, 2, 2], [3]
    ]  # fmt: skip


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_chunk_that_planned_with_a_spent_budget_runs_again_and_overshoots_nothing(
    monkeypatch,
) -> None:
    campaign = CampaignFactory(
        kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=30, budget_points=100
    )
    AccountFactory(member__email="a@example.com")
    read = writing._read_budgets

    def spend_elsewhere() -> None:  # another writer, on its own connection, commits
        Campaign.objects.filter(pk=campaign.pk).update(budget_used=80)
        connection.close()

    def read_then_someone_spends(program, *, lock):
        read(program, lock=lock)
        if not lock:  # after this chunk looked without the lock
            other = threading.Thread(target=spend_elsewhere)
            other.start()
            other.join()

    monkeypatch.setattr(writing, "_read_budgets", read_then_someone_spends)

    report = run_import(HEADER + "B1,a@example.com,10,EUR,\nB2,a@example.com,10,EUR,\n")

    campaign.refresh_from_db()
    bonus = Entry.objects.filter(kind=EntryKind.BONUS).values_list("pending_points", flat=True)
    assert report.imported == 2
    assert campaign.budget_used == 100  # 80 spent elsewhere + the 20 that were left
    assert sum(bonus) == 20
    assert ledger_offences() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_chunks_import_everything_once_within_the_budget(settings) -> None:
    settings.IMPORT_WORKERS = 2
    campaign = CampaignFactory(
        kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=7, budget_points=500
    )
    emails = [f"m{n}@example.com" for n in range(40)]
    for email in emails:
        AccountFactory(member__email=email)
    csv = HEADER + "".join(f"P{n},{emails[n % 40]},{10 + n % 7},EUR,\n" for n in range(400))

    report = run_import(csv, chunk_size=15)
    again = run_import(csv, chunk_size=15)

    campaign.refresh_from_db()
    bonus = Entry.objects.filter(kind=EntryKind.BONUS, details__part__startswith="campaign")
    assert (report.imported, report.errors, again.imported, again.skipped) == (400, [], 0, 400)
    assert Event.objects.filter(type=EventType.PURCHASE).count() == 400
    assert campaign.budget_used == 500  # the last bonus is cut to what was left, no further
    assert sum(bonus.values_list("pending_points", flat=True)) == campaign.budget_used
    assert ledger_offences() == []


def test_json_written_by_hand_is_the_same_document() -> None:
    row = Row(line=2, order_id='A"1\\é', key="k", amount=Decimal(5), currency="EUR",
              occurred_at=NOW, account_id=1)  # fmt: skip
    row.credits = [
        {"part": "tier", "pending": True, "points": 3, "details": {"tier": 'Gold "G"'}},
        {"part": "campaign:4", "pending": False, "points": 2,
         "details": {"campaign_id": 4, "campaign": "Ñ\n"}},
        {"part": "base", "pending": False, "points": 10, "details": {}},
    ]  # fmt: skip

    for credit in row.credits:
        by_hand = json.loads(writing._entry_details_json(row, credit, 77))
        assert by_hand == json.loads(json.dumps(writing._entry_details(row, credit, 77)))
    assert json.loads(writing._event_body_json(row, 15)) == writing._event_body(row, 15)


def test_an_imported_first_purchase_qualifies_a_waiting_referral(
    django_capture_on_commit_callbacks,
) -> None:
    program = program_settings()
    program.referrer_points, program.referee_points = 200, 100
    program.qualification = Qualification.FIRST_PURCHASE
    program.min_purchase_amount = Decimal("20")
    program.save()
    referrer = AccountFactory(member__email="rita@example.com").member
    friend = AccountFactory(member__email="nina@example.com").member
    referral_attach(referee=friend, code=referral_code_for(member=referrer).code, source="code")

    with django_capture_on_commit_callbacks(execute=True):
        run_import(HEADER + "F1,nina@example.com,19.99,EUR,\n")  # below the minimum
    assert Referral.objects.get().status == ReferralStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        run_import(HEADER + "F2,nina@example.com,25.00,EUR,\nF3,rita@example.com,90,EUR,\n")

    assert Referral.objects.get().status == ReferralStatus.REWARDED
    paid = Entry.objects.filter(kind=EntryKind.REFERRAL).annotate(
        total=F("points") + F("pending_points")
    )
    assert sorted(paid.values_list("account__member__email", "total")) == [
        ("nina@example.com", 100),
        ("rita@example.com", 200),
    ]


def test_imported_purchases_honour_segment_targeted_campaigns() -> None:
    CampaignFactory(
        kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=25, target_segments=["loyal"]
    )
    loyal = AccountFactory(member__email="loyal@example.com")
    AccountFactory(member__email="other@example.com")
    MemberSegment.objects.create(
        account=loyal, recency=4, frequency=4, monetary=4, label="loyal",
        last_purchase_at=NOW, purchases=3, spend=Decimal(100), computed_at=NOW,
    )  # fmt: skip

    run_import(HEADER + "S1,loyal@example.com,10,EUR,\nS2,other@example.com,10,EUR,\n")

    bonus = Entry.objects.filter(kind=EntryKind.BONUS, details__part__startswith="campaign")
    assert list(bonus.values_list("account__member__email", "pending_points")) == [
        ("loyal@example.com", 25)
    ]
