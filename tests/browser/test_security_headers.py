"""The pages work under the Content-Security-Policy in a real browser (Debian Chromium):
no violation is reported, every image renders (the referral QR code too), the charts draw,
the admin's JavaScript and the portal's htmx steps run, and Swagger UI shows the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from rewards.models import Redemption
from tests.accounts.factories import PASSWORD, UserFactory
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
BROKEN_IMAGES = (
    "[...document.images].filter((i) => !i.complete || !i.naturalWidth).map((i) => i.src)"
)
IMAGE_WIDTH = """(url) => new Promise((resolve) => {
  const image = new Image();
  image.onload = () => resolve(image.naturalWidth);
  image.onerror = () => resolve(0);
  image.src = url;
})"""
CHART_DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  if (!canvas || !Chart.getChart(canvas)) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return pixels.some((value) => value !== 0);
}"""


class Watched:
    """A page whose CSP violations (events and console messages) are collected."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.refused: list[str] = []
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message: object) -> None:
        text = message.text
        # CSP refusals, and features Permissions-Policy names that the browser does not know
        # (each logs "Error with Permissions-Policy header: Unrecognized feature").
        if any(s in text for s in ("Content Security Policy", "Refused to", "Permissions-Policy")):
            self.refused.append(text)

    def open(self, path: str) -> object:
        response = self.page.goto(path, wait_until="load")
        assert response.status == 200, path
        return response

    def assert_clean(self) -> None:
        """No violation so far, and every image on the current page rendered."""
        assert self.page.evaluate("window.__violations") == [], self.page.url
        assert self.refused == [], self.page.url
        assert self.page.evaluate(BROKEN_IMAGES) == [], self.page.url


@pytest.fixture
def desktop(browser, live_server) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    yield Watched(context.new_page())
    context.close()


def sign_in(watched: Watched, email: str) -> None:
    watched.open("/accounts/login/")
    watched.page.fill("input[name=login]", email)
    watched.page.fill("input[name=password]", PASSWORD)
    watched.page.click("main button[type=submit]")
    watched.page.wait_for_url("**/me/")


def test_every_response_carries_the_policies(desktop) -> None:
    response = desktop.open("/")

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response.headers["permissions-policy"]
    assert "geolocation=()" in response.headers["permissions-policy"]
    desktop.assert_clean()


def test_member_pages_and_the_referral_qr_code_render(desktop) -> None:
    member = UserFactory(email="sara@mail.test", first_name="Sara")
    points_credit(account=account_open(member=member), points=500, kind="earn", idempotency_key="f")
    RewardFactory(name="Free coffee", points_cost=150, static_image="img/rewards/coffee.svg")
    code = referral_code_for(member=member).code
    desktop.open("/")
    desktop.assert_clean()
    sign_in(desktop, member.email)

    for path in ["/me/", "/me/rewards/", "/me/activity/", "/me/vouchers/", "/refer/"]:
        desktop.open(path)
        desktop.assert_clean()

    qr = desktop.page.locator(f"img[src$='/r/{code}/qr.svg']")
    assert qr.evaluate("(image) => image.naturalWidth") > 0
    assert desktop.page.evaluate(IMAGE_WIDTH, f"/r/{code}/qr.svg") > 0


def test_htmx_redeem_confirmation_works(desktop) -> None:
    member = UserFactory(email="omid@mail.test")
    points_credit(account=account_open(member=member), points=500, kind="earn", idempotency_key="f")
    reward = RewardFactory(name="Free coffee", points_cost=150)
    sign_in(desktop, member.email)
    desktop.open(f"/me/rewards/{reward.pk}/")

    desktop.page.click("text=Redeem")
    desktop.page.wait_for_selector("[data-testid=confirm-redeem]")
    desktop.page.click("[data-testid=confirm-redeem]")
    desktop.page.wait_for_selector("[data-testid=voucher-code]")

    code = desktop.page.text_content("[data-testid=voucher-code]").strip()
    assert code == Redemption.objects.get().voucher.code
    desktop.assert_clean()


def test_staff_analytics_charts_and_admin_javascript_work(desktop) -> None:
    staff = UserFactory(email="staff@mail.test", is_staff=True, is_superuser=True)
    UserFactory(email="member@mail.test")
    sign_in(desktop, staff.email)

    desktop.open("/admin/analytics/")
    for chart in ["chart-points", "chart-members", "chart-funnel", "chart-tiers"]:
        desktop.page.wait_for_function(CHART_DRAWN, arg=chart, timeout=5000)
    desktop.assert_clean()

    desktop.open("/admin/accounts/user/")
    desktop.page.check("#action-toggle")
    assert desktop.page.text_content(".action-counter").strip() == "2 of 2 selected"
    desktop.page.select_option("select[name=action]", index=1)
    desktop.assert_clean()


def test_api_docs_render_under_the_policy(desktop) -> None:
    desktop.open("/api/docs/")

    desktop.page.wait_for_selector(".swagger-ui .info .title", timeout=10000)
    assert "Vafa API" in desktop.page.text_content(".swagger-ui .info .title")
    desktop.page.wait_for_selector(".opblock", timeout=10000)
    desktop.assert_clean()
