"""Data for the analytics page benchmark: a club that has run for ``months`` months, with
every kind of ledger entry, purchases, campaigns, redemptions, referrals, tiers and RFM
segments, so that every panel of the page has something to count.

The members and their earned points come from :func:`bench.ledger_db.ledger_load` (users,
accounts, one ``earn`` lot and entry per purchase, earned at a steady pace over the
window). Everything else is derived from them in SQL (``INSERT … SELECT``), so that it
hangs together the way real data does:

* members joined at a steady pace over the window, each before their first entry;
* every ``earn`` entry is a purchase event (1 point per euro plus cents);
* campaign ``bonus`` entries double purchases made during a campaign (one campaign a month,
  14 days long, plus the live one of :func:`bench.web_db.program_create`), and the
  campaigns' participations are the sums of those bonuses;
* ``expire`` entries take lots that were due (older than their 365 days) at their expiry;
* ``reversal`` entries refund purchases three days later; ``redeem`` entries are
  redemptions of the four rewards (with vouchers), some given back by a ``restore``;
* a tenth of the members signed up through a referral, some rewarded with a ``referral``
  entry each for the referrer and the new member, some through an invite; link clicks;
* ``release`` and staff ``adjust`` entries at random times after a member joined;
* cached balances are the sums of the entries (floored at 0), tiers follow the lifetime
  points (:mod:`bench.web_db`'s four tiers), RFM segments come from the real
  ``segments_compute``.

The shares of the kinds are in ``SHARES``; ``earn`` takes the rest of ``entries``. The data
is not a ledger ``verify_ledger`` accepts (only the ``earn`` and ``expire`` entries have
lots): it is for reading, not for posting more entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from bench.ledger_db import Scale, insert_select, ledger_load
from bench.web_db import REWARDS, _accounts_tier, _referral_codes, _tiers, program_create

# Shares of --entries per kind; ``earn`` gets what is left (referral entries: two per
# rewarded referral, about 0.8 %).
SHARES = {
    "bonus": 0.08,
    "redeem": 0.10,
    "restore": 0.005,
    "expire": 0.10,
    "reversal": 0.015,
    "release": 0.04,
    "adjust": 0.01,
}
# Members join at a steady pace (member k at the k-th step of the window); lot g, earned
# at the g-th step, goes to one of the members who had joined by then.
GROWING_ACCOUNT = """1 + mod(abs(hashint8extended(g, 4)),
    GREATEST(1, ceil(%(accounts)s * g::float8 / %(lots)s))::bigint)"""
REFERRED_SHARE = 10  # one member in this many joined through a referral
CAMPAIGN_EVERY_DAYS, CAMPAIGN_DAYS = 30, 14
LIVE_DAYS = 10  # program_create's live campaign started this many days ago
STAFF_EMAIL = "bench-analytics-staff@bench.invalid"


def uniform(seed: int, of: str = "g") -> str:
    """A deterministic pseudo-random number in [0, 1) per value of ``of``."""
    return f"(mod(abs(hashint8extended({of}, {seed})), 1000000) / 1000000.0)"


def after_joining(seed: int) -> str:
    """A moment between the member's joining (``u.date_joined``) and now."""
    return f"u.date_joined + {uniform(seed)} * (%(now)s::timestamptz - u.date_joined)"


@dataclass(frozen=True)
class Plan:
    members: int
    entries: int
    months: int
    now: datetime

    @property
    def days(self) -> int:
        return round(self.months * 365 / 12)

    @property
    def referrals(self) -> int:
        return self.members // REFERRED_SHARE

    def count(self, kind: str) -> int:
        return round(self.entries * SHARES[kind])

    @property
    def clicks(self) -> int:
        return self.referrals * 10

    @property
    def rewarded(self) -> int:
        return sum(1 for g in range(1, self.referrals + 1) if g % 5 in (2, 3))

    @property
    def earn(self) -> int:
        return self.entries - sum(self.count(k) for k in SHARES) - 2 * self.rewarded

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"now": self.now, "members": self.members, **extra}


def execute(sql: str, params: dict[str, Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def analytics_load(plan: Plan) -> dict[str, int]:
    """Load the whole club (replacing any earlier load); returns row counts per step."""
    if plan.months < 12 or plan.earn < plan.entries // 2:
        raise SystemExit("bench loader: at least 12 months, and entries ≫ members / 5")
    scale = Scale(plan.members, plan.earn, 1 - 365 / plan.days, plan.now)
    rows = ledger_load(scale, now=plan.now, account_sql=GROWING_ACCOUNT)
    with transaction.atomic():
        rows["joined"] = members_join(plan)
        rows |= program_load(plan)
        rows |= referrals_load(plan)
        rows |= spending_load(plan, staff_create())
        rows["accounts_summed"] = accounts_sum(plan)
        rows["accounts_tiered"] = _accounts_tier(_tiers(), plan.now)
    rows["segments"] = segments_load(plan)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
    return rows


def members_join(plan: Plan) -> int:
    """Member k joined at the k-th of ``members`` equal steps over the window, up to a day
    before that (so before their first lot, see ``GROWING_ACCOUNT``)."""
    sql = f"""
        UPDATE accounts_user SET date_joined = %(now)s::timestamptz
            - %(days)s * interval '1 day' * (1 - (id - 1)::float8 / %(members)s)
            - {uniform(11, "id")} * interval '1 day'
        WHERE id <= %(members)s
    """
    joined = execute(sql, plan.params(days=plan.days))
    execute(
        "UPDATE loyalty_account a SET created_at = u.date_joined FROM accounts_user u"
        " WHERE u.id = a.member_id"
    )
    return joined


def staff_create() -> int:
    """The staff member who made the adjustments (and who opens the page)."""
    from accounts.models import User

    user = User.objects.create_user(email=STAFF_EMAIL, password=None, is_staff=True)
    return user.pk


def program_load(plan: Plan) -> dict[str, int]:
    """Rule, rewards and the live campaign; a campaign a month before it; a purchase event
    per earn entry; the campaigns' bonus entries and participations."""
    from loyalty.models import Campaign, CampaignParticipation, Entry, Event

    Campaign.objects.all().delete()
    program_create(now=plan.now)
    # the last one ends before the live campaign (started 10 days ago) began
    steps = range(0, plan.days - 2 * LIVE_DAYS - CAMPAIGN_DAYS + 1, CAMPAIGN_EVERY_DAYS)
    first = plan.now - timedelta(days=plan.days - LIVE_DAYS)
    for n, offset in enumerate(steps, start=1):
        starts = first + timedelta(days=offset)
        Campaign.objects.create(
            name=f"Bench month {n}",
            status="ended",
            kind="multiplier",
            multiplier=2,
            starts_at=starts,
            ends_at=starts + timedelta(days=CAMPAIGN_DAYS),
            announce=False,
        )
    events = insert_select(Event, EVENT, "loyalty_entry e WHERE e.kind = 'earn'", plan.params())
    source = BONUS_SOURCE.format(order=uniform(21, "e.id"))
    bonus = insert_select(Entry, BONUS, source, plan.params(n=plan.count("bonus")))
    reached = insert_select(CampaignParticipation, PARTICIPATION, PARTICIPATION_SOURCE, {})
    execute(BUDGET_USED)
    return {"campaigns": len(steps) + 1, "events": events, "bonus": bonus, "reached": reached}


EVENT = {
    "idempotency_key": "'bench:event:' || e.id",
    "type": "'purchase'",
    "account_id": "e.account_id",
    "amount": f"e.points + floor({uniform(20, 'e.id')} * 100) / 100",
    "currency": "'EUR'",
    "order_id": "'bench-order-' || e.id",
    "occurred_at": "e.occurred_at",
    "points_awarded": "e.points",
    "created_at": "e.occurred_at",
}
# Purchases during a campaign that ran (before now) get its bonus; a sample of them.
BONUS_SOURCE = """
    (SELECT e.id, e.account_id, e.points, e.occurred_at, c.id AS campaign_id,
            c.name AS campaign
     FROM loyalty_entry e JOIN loyalty_campaign c
       ON e.occurred_at >= c.starts_at AND e.occurred_at < c.ends_at
     WHERE e.kind = 'earn' AND c.starts_at < %(now)s
     ORDER BY {order} LIMIT %(n)s) b
"""
BONUS = {
    "account_id": "b.account_id",
    "kind": "'bonus'",
    "points": "b.points",
    "idempotency_key": "'bench:bonus:' || b.id",
    "source": "'event'",
    "details": "jsonb_build_object('campaign_id', b.campaign_id, 'campaign', b.campaign)",
    "occurred_at": "b.occurred_at",
    "created_at": "b.occurred_at",
}
PARTICIPATION_SOURCE = """
    (SELECT (details->>'campaign_id')::bigint AS campaign_id, account_id,
            sum(points) AS points, count(*) AS events, min(occurred_at) AS first_at
     FROM loyalty_entry WHERE kind = 'bonus' GROUP BY 1, 2) p
"""
PARTICIPATION = {
    "campaign_id": "p.campaign_id",
    "account_id": "p.account_id",
    "points": "p.points",
    "events": "p.events",
    "first_at": "p.first_at",
}
BUDGET_USED = """
    UPDATE loyalty_campaign c SET budget_used = p.points
    FROM (SELECT campaign_id, sum(points) AS points FROM loyalty_campaignparticipation
          GROUP BY campaign_id) p
    WHERE p.campaign_id = c.id AND c.budget_points IS NOT NULL
"""


def referrals_load(plan: Plan) -> dict[str, int]:
    """A referral code per member; every tenth member referred by another (statuses by
    turn: signed up, qualified, rewarded twice, expired); a quarter of them through an
    invite; as many invites again and ten link clicks per referral, from members at random
    after they joined; the referral entries."""
    from loyalty.models import Entry
    from referrals.models import Invite, Referral, ReferralClick

    params = plan.params(n=plan.referrals)
    rows = {"codes": _referral_codes(plan.now)}
    rows["referrals"] = insert_select(Referral, REFERRAL, REFERRAL_SOURCE, params)
    rows["invites"] = insert_select(Invite, INVITE, INVITE_SOURCE, params)
    execute(INVITE_LINK)
    invites = RANDOM_MEMBER.format(member=ACCOUNT.format(seed=32))
    rows["invites"] += insert_select(Invite, MORE_INVITES, invites, params)
    clicks = RANDOM_MEMBER.format(member=ACCOUNT.format(seed=33))
    clicks += " JOIN referrals_referralcode c ON c.member_id = u.id"
    rows["clicks"] = insert_select(ReferralClick, CLICK, clicks, plan.params(n=plan.clicks))
    for side in ("referrer", "referee"):
        exprs = {**REFERRAL_ENTRY, "account_id": f"a_{side}.id"}
        exprs["points"] = f"r.{side}_points"
        exprs["idempotency_key"] = f"'bench:referral:' || r.id || ':{side}'"
        source = REFERRAL_ENTRY_SOURCE.format(side=side)
        rows[f"referral_{side}"] = insert_select(Entry, exprs, source, {})
    return rows


ACCOUNT = "1 + mod(abs(hashint8extended(g, {seed})), %(members)s)"
REFERRAL_SOURCE = """
    generate_series(1, %(n)s) g
    JOIN accounts_user u ON u.id = g * 10
    JOIN referrals_referralcode c
      ON c.member_id = 1 + mod(abs(hashint8extended(g, 31)), g * 10 - 1)
"""
REFERRAL = {
    "referrer_id": "c.member_id",
    "referee_id": "u.id",
    "code_id": "c.id",
    "source": "'link'",
    "status": "(ARRAY['expired','qualified','rewarded','rewarded','pending'])[1 + mod(g, 5)]",
    "qualify_by": "u.date_joined + interval '60 days'",
    "created_at": "u.date_joined",
    "qualified_at": "CASE WHEN mod(g, 5) IN (1, 2, 3) THEN"
    " LEAST(u.date_joined + interval '5 days', %(now)s) END",
    "rewarded_at": "CASE WHEN mod(g, 5) IN (2, 3) THEN"
    " LEAST(u.date_joined + interval '20 days', %(now)s) END",
    "referrer_points": "CASE WHEN mod(g, 5) IN (2, 3) THEN 200 ELSE 0 END",
    "referee_points": "CASE WHEN mod(g, 5) IN (2, 3) THEN 100 ELSE 0 END",
}
INVITE_SOURCE = """
    referrals_referral r JOIN accounts_user u ON u.id = r.referee_id WHERE mod(r.id, 4) = 0
"""
INVITE = {
    "referrer_id": "r.referrer_id",
    "email": "u.email",
    "created_at": "r.created_at - interval '2 days'",
    "sent_at": "r.created_at - interval '2 days'",
}
INVITE_LINK = """
    UPDATE referrals_referral r SET invite_id = i.id, source = 'invite'
    FROM referrals_invite i JOIN accounts_user u ON u.email = i.email
    WHERE u.id = r.referee_id AND i.referrer_id = r.referrer_id
"""
# A member at random, and when after joining they invited or their link was clicked.
RANDOM_MEMBER = "generate_series(1, %(n)s) g JOIN accounts_user u ON u.id = {member}"
MORE_INVITES = {
    "referrer_id": "u.id",
    "email": "'friend' || g || '@bench.invalid'",
    "created_at": after_joining(34),
    "sent_at": after_joining(34),
}
CLICK = {
    "code_id": "c.id",
    "ip_hash": "md5(g::text)",
    "created_at": after_joining(35),
}
REFERRAL_ENTRY_SOURCE = """
    referrals_referral r JOIN loyalty_account a_{side} ON a_{side}.member_id = r.{side}_id
    WHERE r.status = 'rewarded'
"""
REFERRAL_ENTRY = {
    "kind": "'referral'",
    "source": "'referral'",
    "occurred_at": "r.rewarded_at",
    "created_at": "r.rewarded_at",
}


def spending_load(plan: Plan, staff_id: int) -> dict[str, int]:
    """Redemptions (some given back), expiries, refunds, releases and staff adjustments."""
    from loyalty.models import Entry

    rows = {"redeem": insert_select(Entry, REDEEM, RANDOM_SOURCE, _n(plan, "redeem"))}
    rows |= redemptions_load(plan)
    rows["expire"] = insert_select(Entry, EXPIRE, EXPIRE_SOURCE, _n(plan, "expire"))
    execute(LOTS_EXPIRED)
    rows["reversal"] = insert_select(Entry, REVERSAL, REVERSAL_SOURCE, _n(plan, "reversal"))
    rows["release"] = insert_select(Entry, RELEASE, RANDOM_SOURCE, _n(plan, "release"))
    params = _n(plan, "adjust") | {"staff": staff_id}
    rows["adjust"] = insert_select(Entry, ADJUST, RANDOM_SOURCE, params)
    return rows


def _n(plan: Plan, kind: str) -> dict[str, Any]:
    return plan.params(n=plan.count(kind))


RANDOM_SOURCE = """
    generate_series(1, %(n)s) g
    JOIN loyalty_account a ON a.id = 1 + mod(abs(hashint8extended(g, 41)), %(members)s)
    JOIN accounts_user u ON u.id = a.member_id
"""
REWARD_COSTS = "ARRAY[" + ", ".join(str(cost) for _name, cost in REWARDS) + "]"
REDEEM = {
    "account_id": "a.id",
    "kind": "'redeem'",
    "points": f"-({REWARD_COSTS})[1 + mod(g, {len(REWARDS)})]",
    "idempotency_key": "'bench:redeem:' || g",
    "source": "'redemption'",
    "occurred_at": after_joining(42),
    "created_at": after_joining(42),
}
EXPIRE_SOURCE = f"""
    (SELECT * FROM loyalty_lot WHERE expires_at <= %(now)s
     ORDER BY {uniform(43, "id")} LIMIT %(n)s) l
"""
EXPIRE = {
    "account_id": "l.account_id",
    "kind": "'expire'",
    "points": "-l.remaining",
    "lot_id": "l.id",
    "idempotency_key": "'bench:expire:' || l.id",
    "source": "'expiry'",
    "occurred_at": "l.expires_at",
    "created_at": "l.expires_at",
}
LOTS_EXPIRED = """
    UPDATE loyalty_lot l SET state = 'expired', expired = l.remaining, remaining = 0
    FROM loyalty_entry e WHERE e.kind = 'expire' AND e.lot_id = l.id
"""
REVERSAL_SOURCE = f"""
    (SELECT * FROM loyalty_entry WHERE kind = 'earn'
     AND occurred_at < %(now)s::timestamptz - interval '3 days'
     ORDER BY {uniform(44, "id")} LIMIT %(n)s) e
"""
REVERSAL = {
    "account_id": "e.account_id",
    "kind": "'reversal'",
    "points": "-e.points",
    "related_entry_id": "e.id",
    "idempotency_key": "'bench:reversal:' || e.id",
    "source": "'refund'",
    "occurred_at": "e.occurred_at + interval '3 days'",
    "created_at": "e.occurred_at + interval '3 days'",
}
RELEASE = {
    "account_id": "a.id",
    "kind": "'release'",
    "points": "10 + mod(abs(hashint8extended(g, 45)), 190)",
    "pending_points": "-(10 + mod(abs(hashint8extended(g, 45)), 190))",
    "idempotency_key": "'bench:release:' || g",
    "source": "'release'",
    "occurred_at": after_joining(46),
    "created_at": after_joining(46),
}
ADJUST = {
    "account_id": "a.id",
    "kind": "'adjust'",
    "points": "CASE WHEN mod(g, 3) = 0 THEN -25 ELSE 50 END",
    "idempotency_key": "'bench:adjust:' || g",
    "source": "'staff'",
    "note": "'goodwill'",
    "occurred_at": after_joining(47),
    "created_at": after_joining(47),
    "created_by_id": "%(staff)s",
}


def redemptions_load(plan: Plan) -> dict[str, int]:
    """A redemption (with its voucher) per redeem entry; some cancelled with a restore."""
    from loyalty.models import Entry
    from rewards.models import Redemption, Voucher

    source = "loyalty_entry e JOIN rewards_reward w ON w.points_cost = -e.points"
    rows = {"redemptions": insert_select(Redemption, REDEMPTION, f"{source} {REDEEMED}", {})}
    rows["vouchers"] = insert_select(Voucher, VOUCHER, "rewards_redemption r", {})
    rows["restore"] = insert_select(Entry, RESTORE, RESTORE_SOURCE, _n(plan, "restore"))
    execute(REDEMPTIONS_CANCELLED)
    return rows


REDEEMED = (
    "WHERE e.kind = 'redeem' AND w.name IN ("
    + ", ".join(f"'{name}'" for name, _cost in REWARDS)
    + ")"
)
REDEMPTION = {
    "account_id": "e.account_id",
    "reward_id": "w.id",
    "points": "-e.points",
    "entry_id": "e.id",
    "idempotency_key": "e.idempotency_key",
    "status": "'completed'",
    "created_at": "e.occurred_at",
}
VOUCHER = {
    "code": "'BENCH-' || r.id",
    "redemption_id": "r.id",
    "status": "'issued'",
    "expires_at": "r.created_at + interval '90 days'",
    "created_at": "r.created_at",
}
RESTORE_SOURCE = f"""
    (SELECT * FROM loyalty_entry WHERE kind = 'redeem'
     AND occurred_at < %(now)s::timestamptz - interval '1 day'
     ORDER BY {uniform(48, "id")} LIMIT %(n)s) e
"""
RESTORE = {
    "account_id": "e.account_id",
    "kind": "'restore'",
    "points": "-e.points",
    "related_entry_id": "e.id",
    "idempotency_key": "'bench:restore:' || e.id",
    "source": "'redemption'",
    "occurred_at": "e.occurred_at + interval '1 day'",
    "created_at": "e.occurred_at + interval '1 day'",
}
REDEMPTIONS_CANCELLED = """
    UPDATE rewards_redemption r SET status = 'cancelled', restore_entry_id = e.id,
        cancelled_at = e.occurred_at, cancel_reason = 'staff'
    FROM loyalty_entry e WHERE e.kind = 'restore' AND e.related_entry_id = r.entry_id
"""


def accounts_sum(plan: Plan) -> int:
    """Cached sums from the entries (floored at 0: the spending above is not checked
    against balances), the last 14 days' purchase points counted as pending (the return
    window); qualifying points are lifetime points (tiers follow them)."""
    sql = """
        UPDATE loyalty_account a SET balance = GREATEST(s.points - s.recent, 0),
            pending = GREATEST(s.recent, 0), lifetime_earned = COALESCE(s.earned, 0)
        FROM (SELECT account_id, sum(points) AS points,
                     COALESCE(sum(points) FILTER (WHERE kind = 'earn'
                         AND occurred_at > %(now)s::timestamptz - interval '14 days'), 0)
                         AS recent,
                     sum(points + pending_points)
                         FILTER (WHERE kind IN ('earn', 'bonus', 'referral')) AS earned
              FROM loyalty_entry GROUP BY account_id) s
        WHERE s.account_id = a.id
    """
    return execute(sql, plan.params())


def segments_load(plan: Plan) -> int:
    from loyalty.services.segments import segments_compute

    return segments_compute(as_of=plan.now)
