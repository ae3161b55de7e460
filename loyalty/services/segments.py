"""RFM segments, computed in one set-based statement.

For every member with at least one purchase up to ``as_of``:

* recency = the time of the last purchase, frequency = the number of purchases,
  monetary = net spend (amount minus what was refunded);
* each is scored 1–5 by quintile over all purchasers (``NTILE(5)``; ties are split by
  account id so a re-run gives the same scores), 5 being the best fifth;
* the label is the first rule that matches:

  ==============  ========================================
  champions       recency ≥ 4, frequency ≥ 4, monetary ≥ 4
  loyal           recency ≥ 3, frequency ≥ 4
  new             recency ≥ 4, frequency = 1
  potential       recency ≥ 3
  at risk         frequency ≥ 3 (and recency ≤ 2)
  hibernating     everyone else (recency ≤ 2, frequency ≤ 2)
  ==============  ========================================

The statement upserts ``loyalty_membersegment`` (PostgreSQL and SQLite ≥ 3.28 both have
window functions and ``ON CONFLICT``), so a re-run overwrites rather than duplicates.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from loyalty.models import EventType, MemberSegment

LABEL_RULES = """
    CASE
        WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
        WHEN r >= 3 AND f >= 4 THEN 'loyal'
        WHEN r >= 4 AND f = 1 THEN 'new'
        WHEN r >= 3 THEN 'potential'
        WHEN f >= 3 THEN 'at_risk'
        ELSE 'hibernating'
    END
"""

COMPUTE = f"""
WITH stats AS (
    SELECT account_id, MAX(occurred_at) AS last_at, COUNT(*) AS n,
           SUM(amount - refunded_amount) AS spend
    FROM loyalty_event
    WHERE type = %s AND occurred_at <= %s AND amount IS NOT NULL
    GROUP BY account_id
), scored AS (
    SELECT account_id, last_at, n, spend,
        NTILE(5) OVER (ORDER BY last_at, account_id) AS r,
        NTILE(5) OVER (ORDER BY n, account_id) AS f,
        NTILE(5) OVER (ORDER BY spend, account_id) AS m
    FROM stats
)
INSERT INTO loyalty_membersegment
    (account_id, recency, frequency, monetary, label, last_purchase_at, purchases, spend,
     computed_at)
SELECT account_id, r, f, m, {LABEL_RULES}, last_at, n, spend, %s FROM scored WHERE 1 = 1
ON CONFLICT (account_id) DO UPDATE SET
    recency = excluded.recency, frequency = excluded.frequency,
    monetary = excluded.monetary, label = excluded.label,
    last_purchase_at = excluded.last_purchase_at, purchases = excluded.purchases,
    spend = excluded.spend, computed_at = excluded.computed_at
"""  # noqa: S608 - assembled from module constants only


@transaction.atomic
def segments_compute(*, as_of: datetime | None = None) -> int:
    """Score every purchasing member and store their segment; return how many."""
    as_of = as_of or timezone.now()
    moment = connection.ops.adapt_datetimefield_value(as_of)
    with connection.cursor() as cursor:
        cursor.execute(COMPUTE, [EventType.PURCHASE.value, moment, moment])
    # (sqlite3 reports no row count for a statement that starts with WITH)
    return MemberSegment.objects.filter(computed_at=as_of).count()
