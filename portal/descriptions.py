"""Each ledger line explained in words: "Purchase #1042", "Spring double points",
"Expired". Built from the entry's kind and the facts it carries, never from queries."""

from __future__ import annotations

from django.utils.translation import gettext as _

from loyalty.models import Entry, EntryKind

ACTIVITIES = {
    "signup": lambda: _("Welcome bonus"),
    "birthday": lambda: _("Birthday gift"),
    "profile_completed": lambda: _("Profile completed"),
    "review": lambda: _("Product review"),
    "photo": lambda: _("Photo review"),
    "survey": lambda: _("Survey answered"),
    "custom": lambda: _("Bonus activity"),
}


def _earned(details: dict) -> str:
    if order := details.get("order_id"):
        return _("Purchase #%(order)s") % {"order": order}
    return ACTIVITIES.get(details.get("event_type", ""), lambda: _("Points earned"))()


def _bonus(details: dict) -> str:
    if campaign := details.get("campaign"):
        return campaign
    if tier := details.get("tier"):
        return _("%(tier)s tier bonus") % {"tier": tier}
    return _("Bonus points")


def _reversed(details: dict) -> str:
    if order := details.get("order_id"):
        return _("Refund of purchase #%(order)s") % {"order": order}
    return _("Points taken back")


def _referral(details: dict) -> str:
    if details.get("side") == "referee":
        return _("Welcome gift for joining with a friend's link")
    return _("A friend you invited joined")


def entry_description(entry: Entry) -> str:
    d = entry.details or {}
    describe = {
        EntryKind.EARN: lambda: _earned(d),
        EntryKind.BONUS: lambda: _bonus(d),
        EntryKind.REFERRAL: lambda: _referral(d),
        EntryKind.REDEEM: lambda: _("Reward: %(reward)s") % {"reward": d.get("reward", "")},
        EntryKind.RESTORE: lambda: _("Cancelled: %(reward)s") % {"reward": d.get("reward", "")},
        EntryKind.EXPIRE: lambda: _("Expired"),
        EntryKind.RELEASE: lambda: _("Pending points now available"),
        EntryKind.REVERSAL: lambda: _reversed(d),
        EntryKind.ADJUST: lambda: entry.note or _("Adjustment by our team"),
    }
    return describe.get(entry.kind, lambda: entry.get_kind_display())()
