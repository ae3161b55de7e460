"""CSRF sweep, found rather than listed: every URL pattern of the project is turned into a
real path (the objects made below fill its arguments), rendered with GET for whoever can
use it (a visitor, a member, staff), and every ``<form method="post">`` on the page is
collected. Then every pattern and every collected form action is posted to without a
token, and each must be refused by the CSRF check.

A new page is swept without anyone remembering to list it. A pattern the sweep cannot
fill fails here until it gets an argument below or a reason in ``NOT_SWEPT``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.views.generic import RedirectView

from accounts.models import User
from accounts.services import unsubscribe_url
from loyalty.models import Account, CampaignStatus
from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from rewards.models import RedemptionStatus
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.backoffice.test_changelists import LINKS, MAKERS
from tests.loyalty.factories import CampaignFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

NOT_SWEPT = {  # route prefix: why no session-authenticated POST can reach it
    "api/": "shop API: Api-Key header, no session cookie (DRF views are csrf_exempt)",
    "^media/": "uploaded files, served by Django only with DEBUG on, GET only",
}
CSRF_EXEMPT = {"unsubscribe"}  # RFC 8058 one-click: mail clients POST without a token
NOT_RENDERED = {
    "admin:view_on_site": "GET leaves the admin for the object's own page",
    "admin:autocomplete": "JSON for select widgets, refused without its query parameters",
}
# Links from an email, for visitors: a member who opens another person's link is signed out.
VISITOR_ONLY = {"account_confirm_email", "account_reset_password_from_key"}
# Forms the audit found missing from the old hand-made list, and the rest of the
# members' forms: the sweep must keep finding them.
EXPECTED_FORMS = {
    "account_email",
    "account_confirm_email",
    "account_reset_password_from_key",
    "account_reset_password",
    "account_login",
    "account_signup",
    "account_logout",
    "account_change_password",
    "account_reauthenticate",
    "set_language",
    "referrals_refer",
    "portal:redeem",
    "portal:voucher_cancel",
    "portal:profile",
    "portal:export",
    "portal:delete",
    "admin:loyalty_account_adjust",
    "admin:loyalty_event_import",
    "admin:loyalty_campaign_change",  # the simulator panel is part of this form
    "admin:loyalty_account_export",
    "admin:accounts_user_delete",
    "admin:auth_user_password_change",
    "admin:password_change",
    "admin:logout",
}


class PostForms(HTMLParser):
    """The action of every POST form on a page, and whether it carries a CSRF token."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self._open = (found.get("method") or "").lower() == "post"
            if self._open:
                self.forms.append({"action": found.get("action") or "", "token": False})
        elif tag == "input" and self._open and found.get("name") == "csrfmiddlewaretoken":
            self.forms[-1]["token"] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


def url_patterns(
    entries: list | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str | None, URLPattern]]:
    """(route, name with namespace, pattern) for every pattern of the project."""
    for entry in get_resolver().url_patterns if entries is None else entries:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            yield prefix + str(entry.pattern), entry.name and namespace + entry.name, entry


def _unnamed_is_harmless(pattern: URLPattern) -> bool:
    """Admin's redirect of ``<id>/`` to the named change view, and its catch-all."""
    callback = pattern.callback
    return getattr(callback, "view_class", None) is RedirectView or (
        callback.__name__ == "catch_all_view"
    )


def _admin_row(route: str) -> str | None:
    app_label, model_name = re.match(r"admin/(\w+)/(\w+)/", route).groups()
    row = apps.get_model(app_label, model_name)._default_manager.order_by("pk").first()
    return None if row is None else str(row.pk)


def _path(route: str, name: str, arguments: dict[str, str]) -> str:
    params = [a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)]
    values = {}
    for param in params:
        value = arguments.get(f"{name}.{param}") or arguments.get(param)
        if param == "object_id" and value is None:
            value = _admin_row(route)
        assert value is not None, f"{route}: give the sweep a value for <{param}>"
        values[param] = value
    return reverse(name, kwargs=values)


def swept_paths(arguments: dict[str, str]) -> dict[str, str]:
    """Path -> URL name of every pattern a session can post to."""
    paths = {}
    for route, name, pattern in url_patterns():
        if any(route.startswith(prefix) for prefix in NOT_SWEPT):
            continue
        if name is None:
            assert _unnamed_is_harmless(pattern), f"{route}: name it so that it is swept"
            continue
        paths[_path(route, name, arguments)] = name
    return paths


@pytest.fixture
def world() -> dict[str, object]:
    """A member with points, a voucher and keys in hand; staff; a row for every admin."""
    for label, make in MAKERS.items():
        if label not in LINKS:
            make()
    member = UserFactory()
    account = account_open(member=member)
    points_credit(account=account, points=1000, kind="earn", idempotency_key="csrf-seed")
    reward = RewardFactory(points_cost=10)
    redemption = reward_redeem(account=account, reward=reward, idempotency_key="csrf-r")
    campaign = CampaignFactory(status=CampaignStatus.DRAFT)
    newcomer = UserFactory(verified=False)  # signed up, has not confirmed yet
    address = EmailAddress.objects.create(user=newcomer, email=newcomer.email, primary=True)
    return {
        "member": member,
        "staff": UserFactory(is_staff=True, is_superuser=True),
        "redemption": redemption,
        "arguments": {
            "portal:reward.pk": str(reward.pk),
            "portal:redeem.pk": str(reward.pk),
            "portal:voucher.pk": str(redemption.pk),
            "portal:voucher_cancel.pk": str(redemption.pk),
            "admin:loyalty_account_adjust.pk": str(account.pk),
            "admin:loyalty_campaign_change.object_id": str(campaign.pk),
            "member_360.pk": str(member.pk),
            "id": str(member.pk),
            "code": referral_code_for(member=member).code,
            "token": unsubscribe_url(user=member).rstrip("/").rsplit("/", 1)[1],
            "key": EmailConfirmationHMAC(address).key,
            "uidb36": user_pk_to_url_str(newcomer),
            "account_reset_password_from_key.key": default_token_generator.make_token(newcomer),
            "app_label": "loyalty",
            "name": "invite",
            "language": "en",
            "content_type_id": str(ContentType.objects.get_for_model(member).pk),
            "admin:view_on_site.object_id": str(member.pk),
        },
    }


def _client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def _local(base: str, url: str) -> str | None:
    """``url`` (relative to ``base``) as path and query, or ``None`` off the site."""
    parts = urlsplit(urljoin(f"http://testserver{base}", url))
    if parts.netloc != "testserver":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _view_name(action: str) -> str:
    return resolve(urlsplit(action).path).view_name


def _refused(client: Client, path: str) -> bool:
    response = client.post(path, {})
    return response.status_code == 403 and b"CSRF verification failed" in response.content


class Sweep:
    """Renders pages as whoever may open them and keeps the POST forms it finds."""

    def __init__(self, world: dict[str, object]) -> None:
        self.visitor = _client()
        self.member = _client(world["member"])
        self.staff = _client(world["staff"])
        self.forms: dict[str, Client] = {}  # action -> a client whose page showed it
        self.tokenless: list[str] = []
        self._seen: set[tuple[int, str]] = set()

    def clients(self, path: str, name: str) -> list[Client]:
        """Staff in the admin; elsewhere an anonymous visitor and a member."""
        if path.startswith("/admin/"):
            return [self.staff]
        return [self.visitor] if name in VISITOR_ONLY else [self.visitor, self.member]

    def render(self, client: Client, path: str | None) -> None:
        """GET ``path``, follow redirects to pages not rendered yet, collect forms."""
        while path is not None and (id(client), urlsplit(path).path) not in self._seen:
            self._seen.add((id(client), urlsplit(path).path))
            response = client.get(path)
            if response.status_code in (301, 302, 303, 307, 308):
                path = _local(path, response["Location"])
            elif "html" in response.get("Content-Type", ""):
                self._collect(client, path, response.content.decode())
                return
            else:
                return

    def _collect(self, client: Client, page: str, html: str) -> None:
        parser = PostForms()
        parser.feed(html)
        for form in parser.forms:
            action = _local(page, str(form["action"]))
            if action is not None:
                self.forms.setdefault(action, client)
                if not form["token"]:
                    self.tokenless.append(f"{page} -> {action}")


def test_every_post_form_and_every_page_refuses_a_post_without_a_token(world) -> None:
    paths = swept_paths(world["arguments"])
    sweep = Sweep(world)
    for path, name in paths.items():
        for client in sweep.clients(path, name) if name not in NOT_RENDERED else []:
            sweep.render(client, path)

    posts = {(client, action) for action, client in sweep.forms.items()}
    posts |= {(c, path) for path, name in paths.items() for c in sweep.clients(path, name)}
    accepted = {_view_name(path) for client, path in posts if not _refused(client, path)}

    assert sweep.member.get(reverse("portal:dashboard")).status_code == 200  # signed in
    assert sorted(EXPECTED_FORMS - {_view_name(action) for action in sweep.forms}) == []
    assert len(sweep.forms) > len(EXPECTED_FORMS)
    assert sweep.tokenless == []
    assert accepted == CSRF_EXEMPT
    world["redemption"].refresh_from_db()
    assert world["redemption"].status == RedemptionStatus.COMPLETED
    assert Account.objects.get(member=world["member"]).balance == 990
    assert User.objects.get(pk=world["member"].pk).is_active
