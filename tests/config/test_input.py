"""Hostile input values found by attacking the running app (issue 15): each was a 500."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from loyalty.admin.segments import CampaignForm
from loyalty.keys import entry_key
from loyalty.models import ApiReplay, Entry, Event
from loyalty.services.apikeys import api_key_create
from loyalty.services.imports import events_import, rows_read
from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from referrals.models import ReferralClick
from rewards.models import Redemption
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import AccountFactory, EarningRuleFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return client


@pytest.fixture(autouse=True)
def _program() -> None:
    EarningRuleFactory(points_per_unit=Decimal("1.00"))


@pytest.fixture
def member():
    return AccountFactory().member


def purchase(member, key: str = "evt-1", **overrides) -> dict:
    occurred = (timezone.now() - timedelta(hours=1)).isoformat()
    body = {
        "idempotency_key": key,
        "type": "purchase",
        "member_id": member.pk,
        "amount": "42.50",
        "currency": "EUR",
        "order_id": f"order-{key}"[:100],
        "occurred_at": occurred,
    }
    return {**body, **overrides}


def written() -> tuple[int, ...]:
    return (
        Event.objects.count(),
        Entry.objects.count(),
        Redemption.objects.count(),
        ApiReplay.objects.count(),
        User.objects.count(),
    )


def post_raw(api: APIClient, path: str, text: str):
    return api.generic("POST", path, text.encode(), content_type="application/json")


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert field in response.json()["error"]["fields"]


# --- NUL and lone surrogates -------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [r'{"note": "a\u0000b"}', r'{"a\u0000b": 1}', r'{"note": "\ud800"}', r'{"x": [{"\udc00": 1}]}'],
    ids=["nul-value", "nul-key", "surrogate-value", "surrogate-deep-key"],
)
def test_nul_or_lone_surrogate_in_metadata_is_a_400_and_writes_nothing(
    api, member, metadata
) -> None:
    # given a purchase whose metadata carries what PostgreSQL cannot store
    text = json.dumps(purchase(member)).replace('"occurred_at"', f'"metadata": {metadata}, "o"', 1)
    before = written()

    # when it is posted
    response = post_raw(api, EVENTS, text)

    # then it is refused at the edge, in the API's error shape
    assert_refused(response, "metadata")
    assert response.json()["error"]["fields"]["metadata"] == [
        "Text cannot contain NUL characters or unpaired surrogates."
    ]
    assert written() == before


def test_nul_in_a_referral_path_is_a_404(client) -> None:
    code = referral_code_for(member=UserFactory()).code

    assert client.get("/r/%00/").status_code == 404
    assert client.get(f"/r/{code[:2]}%00{code[2:]}/qr.svg").status_code == 404
    assert ReferralClick.objects.count() == 0


def test_nul_in_a_member_form_is_a_400_and_changes_nothing(client, member) -> None:
    client.force_login(member)
    name = member.first_name

    response = client.post("/me/profile/", {"first_name": "a\x00b", "language": "en"})

    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    member.refresh_from_db()
    assert member.first_name == name


def test_form_json_fields_refuse_escaped_nul() -> None:
    field = forms.JSONField()

    with pytest.raises(ValidationError):
        field.clean(r'{"note": "\u0000"}')
    assert field.clean('{"note": "fine"}') == {"note": "fine"}


def test_admin_campaign_form_refuses_escaped_nul_in_its_json_field() -> None:
    form = CampaignForm(data={"name": "Double", "event_types": r'["purchase\u0000"]'})

    assert form.errors["event_types"] == [
        "Text cannot contain NUL characters or unpaired surrogates."
    ]


# --- digits, amounts and nesting --------------------------------------------------------


@pytest.mark.parametrize("member_id", ["²", "١", "%EF%BC%91"])
def test_reward_list_member_id_takes_ascii_digits_only(api, member_id) -> None:
    response = api.get(f"/api/v1/rewards/?member_id={member_id}")

    assert_refused(response, "member_id")
    assert response.json()["error"]["fields"]["member_id"] == [ID_MESSAGE]


ID_MESSAGE = "An id is a whole number of 1 to 18 ASCII digits."
NOT_FOUND = {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


@pytest.mark.parametrize("member_id", ["99999999999999999999", "-1", "0x1", "1.0"])
def test_reward_list_member_id_outside_1_to_18_digits_says_what_an_id_is(api, member_id) -> None:
    response = api.get(f"/api/v1/rewards/?member_id={member_id}")

    assert_refused(response, "member_id")
    assert response.json()["error"]["fields"]["member_id"] == [ID_MESSAGE]


def test_reward_list_member_id_naming_no_member_is_a_404(api) -> None:
    response = api.get("/api/v1/rewards/?member_id=999999999999999999")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize(
    "member_id", [99999999999999999999, "99999999999999999999", -1, "-1", "1.0", 1.0]
)
def test_event_member_id_outside_1_to_18_digits_is_the_same_field_error(
    api, member, member_id
) -> None:
    before = written()

    response = api.post(EVENTS, purchase(member, member_id=member_id), format="json")

    assert_refused(response, "member_id")
    assert response.json()["error"]["fields"]["member_id"] == [ID_MESSAGE]
    assert written() == before


@pytest.mark.parametrize("member_id", [999999999999999999, "999999999999999999"])
def test_event_for_a_well_formed_id_naming_no_member_is_a_404(api, member, member_id) -> None:
    before = written()

    response = api.post(EVENTS, purchase(member, member_id=member_id), format="json")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert written() == before


def test_redemption_reward_id_of_20_digits_is_the_same_field_error(api, member) -> None:
    url = f"/api/v1/members/{member.pk}/redemptions/"

    response = api.post(url, {"reward_id": 10**19, "idempotency_key": "r-1"}, format="json")

    assert_refused(response, "reward_id")
    assert response.json()["error"]["fields"]["reward_id"] == [ID_MESSAGE]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/99999999999999999999/",
        "/api/v1/members/999999999999999999/",
        "/api/v1/members/99999999999999999999/ledger/",
    ],
)
def test_a_member_path_with_an_id_naming_no_member_is_a_404(api, path) -> None:
    response = api.get(path)

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_event_member_id_in_arabic_digits_is_refused(api, member) -> None:
    arabic = str(member.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    before = written()

    response = api.post(EVENTS, purchase(member, member_id=arabic), format="json")

    assert_refused(response, "member_id")
    assert written() == before


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic"])
def test_event_time_in_non_ascii_digits_is_a_field_error(api, member, digits) -> None:
    occurred = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = written()

    response = api.post(
        EVENTS, purchase(member, occurred_at=occurred.translate(digits)), format="json"
    )

    assert_refused(response, "occurred_at")
    assert response.json()["error"]["fields"]["occurred_at"] == [
        "Enter a date and time in ISO 8601 with ASCII digits, such as 2026-12-04T10:00:00Z."
    ]
    assert written() == before


@pytest.mark.parametrize("birthday", ["١٩٩٠-٠١-٠٢", "１９９０-01-02", "۱۹۹۰-۰۱-۰۲"])
def test_member_birthday_in_non_ascii_digits_is_a_field_error(api, birthday) -> None:
    before = written()

    response = api.post(
        "/api/v1/members/", {"email": "ada@example.com", "birthday": birthday}, format="json"
    )

    assert_refused(response, "birthday")
    assert response.json()["error"]["fields"]["birthday"] == [
        "Enter a date in ISO 8601 with ASCII digits, such as 1990-01-02."
    ]
    assert written() == before


def test_member_birthday_in_ascii_is_accepted(api) -> None:
    response = api.post(
        "/api/v1/members/", {"email": "ada@example.com", "birthday": "1990-01-02"}, format="json"
    )

    assert response.status_code == 201
    assert User.objects.get(email="ada@example.com").birthday == date(1990, 1, 2)


@pytest.mark.parametrize("amount", ["1_000", "١٠٠", "１００", "1e3", " 12"])
def test_amount_outside_what_a_shop_can_send_is_a_field_error(api, member, amount) -> None:
    before = written()

    response = api.post(EVENTS, purchase(member, amount=amount), format="json")

    assert_refused(response, "amount")
    assert written() == before


@pytest.mark.parametrize("amount", ["42.50", 42.5, 42, "42"])
def test_amount_as_ascii_string_or_json_number_is_accepted(api, member, amount) -> None:
    response = api.post(EVENTS, purchase(member, amount=amount), format="json")

    assert response.status_code == 201
    assert Event.objects.get().amount == Decimal(str(amount))


def test_a_body_nested_100000_deep_is_a_json_400(api) -> None:
    response = post_raw(api, EVENTS, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "parse_error"


def test_metadata_nested_past_the_limit_is_refused(api, member) -> None:
    deep: list = []
    for _ in range(40):
        deep = [deep]
    before = written()

    response = api.post(EVENTS, purchase(member, metadata={"x": deep}), format="json")

    assert_refused(response, "metadata")
    assert written() == before


# --- long idempotency keys ----------------------------------------------------------------


def test_a_255_character_event_key_is_recorded_and_replayed(api, member) -> None:
    key = "k" * 255
    body = purchase(member, key=key)

    first = api.post(EVENTS, body, format="json")
    again = api.post(EVENTS, body, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Event.objects.get().idempotency_key == key
    assert Entry.objects.get().idempotency_key == entry_key("event", key, "base")


def test_two_255_character_keys_sharing_240_characters_are_two_events(api, member) -> None:
    prefix = "p" * 240
    one, two = prefix + "a" * 15, prefix + "b" * 15

    first = api.post(EVENTS, purchase(member, key=one, order_id="o-1"), format="json")
    second = api.post(EVENTS, purchase(member, key=two, order_id="o-2"), format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["event_id"] != second.json()["event_id"]
    assert Entry.objects.count() == 2


def test_a_255_character_redemption_key_redeems_once_and_replays(api) -> None:
    account = account_open(member=UserFactory())
    points_credit(account=account, points=500, kind="earn", idempotency_key="seed")
    reward = RewardFactory(points_cost=100)
    path = f"/api/v1/members/{account.member_id}/redemptions/"
    body = {"reward_id": reward.pk, "idempotency_key": "r" * 255}

    first = api.post(path, body, format="json")
    again = api.post(path, body, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Redemption.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 400


def test_entry_keys_that_fit_are_unchanged_and_long_ones_are_hashed() -> None:
    assert entry_key("event", "abc", "base") == "event:abc:base"
    long = entry_key("event", "x" * 250, "base")
    assert len(long) == len("event#") + 64 + len(":base")
    assert long.startswith("event#")
    assert long != entry_key("event", "x" * 249 + "y", "base")


# --- CSV import and member forms -----------------------------------------------------------


@pytest.mark.parametrize("amount", ["1_000", "١٠٠", "１００", "1e3"])
def test_csv_import_refuses_lenient_amounts(member, amount) -> None:
    csv = f"member_id,order_id,amount,currency\n{member.pk},o-1,{amount},EUR\n"

    report = events_import(rows=rows_read(io.StringIO(csv)))

    assert report.errors == [
        (2, "amount must be a number from 0 to 1000000 with at most 2 decimals")
    ]
    assert Event.objects.count() == 0


def test_csv_import_refuses_nul(member) -> None:
    csv = f"member_id,order_id,amount,currency\n{member.pk},o\x001,10,EUR\n"

    report = events_import(rows=rows_read(io.StringIO(csv)))

    assert report.errors == [(2, "Text cannot contain NUL characters or unpaired surrogates.")]
    assert Event.objects.count() == 0


def test_profile_phone_in_persian_or_arabic_digits_is_stored_in_ascii(client, member) -> None:
    client.force_login(member)

    response = client.post("/me/profile/", {"phone": "+۹۸ ۹۱۲ ٣٤٥", "language": "en"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.phone == "+98 912 345"


def test_profile_phone_with_superscript_digits_is_a_form_error(client, member) -> None:
    client.force_login(member)

    response = client.post("/me/profile/", {"phone": "12²", "language": "en"})

    assert response.status_code == 200
    assert "Use digits, spaces and + - ( ) only." in response.content.decode()
    member.refresh_from_db()
    assert member.phone == ""
