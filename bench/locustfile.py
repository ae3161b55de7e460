"""Mixed traffic for the production load test (issue 10), run by ``bench/load.py``:

* members browsing the portal (signed in, each user a different member): dashboard,
  activity, rewards, vouchers;
* a shop's integration posting purchase events and redemptions through the API;
* visitors opening members' referral links (/r/<code>/).

Every answer other than the expected status is a failure (a portal page that redirects to
the login page included). The data the users need (session keys, API key, member ids,
reward, referral codes) comes from the JSON file named by ``VAFA_LOCUST_FIXTURE``, written
by ``bench/load.py`` for the database it loaded.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

FIXTURE: dict[str, Any] = json.loads(Path(os.environ["VAFA_LOCUST_FIXTURE"]).read_text())
_sessions = itertools.cycle(FIXTURE["sessions"])
_rng = random.Random()


def _expect(response: Any, status: int) -> None:
    if response.status_code != status:
        response.failure(f"{response.status_code}: {response.text[:200]}")
    else:
        response.success()


class PortalMember(HttpUser):
    """A member clicking through the portal, a second or two between pages."""

    weight = 6
    wait_time = between(0.5, 2.5)

    def on_start(self) -> None:
        self.client.cookies.set("sessionid", next(_sessions))

    def _page(self, path: str) -> None:
        with self.client.get(path, allow_redirects=False, catch_response=True) as response:
            _expect(response, 200)

    @task(4)
    def dashboard(self) -> None:
        self._page("/me/")

    @task(2)
    def activity(self) -> None:
        self._page("/me/activity/")

    @task(2)
    def rewards(self) -> None:
        self._page("/me/rewards/")

    @task(1)
    def vouchers(self) -> None:
        self._page("/me/vouchers/")


class ShopIntegration(HttpUser):
    """A shop's checkout: purchases for any member, and now and then a redemption for a
    member who has the points."""

    weight = 3
    wait_time = between(0.1, 0.6)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Api-Key {FIXTURE['api_key']}"

    @task(8)
    def purchase(self) -> None:
        key = uuid.uuid4().hex
        body = {
            "idempotency_key": f"lc-{key}",
            "type": "purchase",
            "member_id": _rng.randint(1, FIXTURE["members"]),
            "amount": f"{_rng.randint(5, 199)}.{_rng.randint(0, 99):02d}",
            "currency": "EUR",
            "order_id": f"lc-{key}",
        }
        name = "/api/v1/events/"
        with self.client.post(name, json=body, name=name, catch_response=True) as response:
            _expect(response, 201)

    @task(1)
    def redemption(self) -> None:
        member_id = _rng.choice(FIXTURE["rich_members"])
        body = {"reward_id": FIXTURE["reward_id"], "idempotency_key": f"lc-{uuid.uuid4().hex}"}
        path = f"/api/v1/members/{member_id}/redemptions/"
        name = "/api/v1/members/[id]/redemptions/"
        with self.client.post(path, json=body, name=name, catch_response=True) as response:
            _expect(response, 201)


class ReferralVisitor(HttpUser):
    """Someone opening a friend's referral link."""

    weight = 1
    wait_time = between(1, 3)

    @task
    def landing(self) -> None:
        code = _rng.choice(FIXTURE["referral_codes"])
        with self.client.get(f"/r/{code}/", name="/r/[code]/", catch_response=True) as response:
            _expect(response, 200)
