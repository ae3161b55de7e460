"""Demo members for ``manage.py seed_demo``: idempotent, keyed on email."""

from __future__ import annotations

from datetime import date, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.managers import email_canonical
from accounts.models import User
from accounts.services import user_consent_apply

DEMO_PASSWORD = "vafa-demo-2026"  # noqa: S105 - demo data for local runs only

DEMO_MEMBERS = [
    ("sara@vafa.example", "Sara", "Jones", "en", date(1990, 4, 12)),
    ("omid@vafa.example", "Omid", "Rahimi", "fa", date(1988, 11, 30)),
    ("layla@vafa.example", "Layla", "Haddad", "ar", date(1995, 1, 3)),
    ("ivan@vafa.example", "Ivan", "Petrov", "ru", None),
    ("maya@vafa.example", "Maya", "Chen", "en", date(2000, 7, 21)),
]


def _verified(user: User) -> User:
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def seed_staff() -> User:
    admin = User.objects.filter(email="admin@vafa.example").first()
    if admin is None:
        admin = User.objects.create_superuser("admin@vafa.example", DEMO_PASSWORD, first_name="Ada")
    return _verified(admin)


def seed_team() -> list[User]:
    """A support agent and a marketer, in the groups the migration created."""
    team = []
    for email, name, group in (
        ("support@vafa.example", "Sam", "Support"),
        ("marketing@vafa.example", "Mina", "Marketing"),
    ):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, first_name=name, is_staff=True)
        if role := Group.objects.filter(name=group).first():
            user.groups.add(role)
        team.append(_verified(user))
    return team


def seed_members() -> list[User]:
    members = []
    for index, (email, first, last, language, birthday) in enumerate(DEMO_MEMBERS):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, first_name=first, last_name=last, language=language)
            user.email_canonical = email_canonical(email)
            user.birthday = birthday
            user.date_joined = timezone.now() - timedelta(days=400 - index * 60)
            user_consent_apply(user=user, consent=index % 2 == 0, at=user.date_joined)
            user.set_password(DEMO_PASSWORD)
            user.save()
        members.append(_verified(user))
    return members


def seed() -> list[str]:
    """Create the demo staff and members; return lines describing the logins."""
    admin = seed_staff()
    team = seed_team()
    members = seed_members()
    lines = [f"admin:   {admin.email} / {DEMO_PASSWORD}  (http://127.0.0.1:8000/admin/)"]
    lines += [f"staff:   {u.email} / {DEMO_PASSWORD}  [{u.groups.first()}]" for u in team]
    lines += [f"member:  {m.email} / {DEMO_PASSWORD}  [{m.language}]" for m in members]
    return lines
