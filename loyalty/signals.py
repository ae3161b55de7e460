"""Extension points for apps that build on the loyalty engine (referrals, analytics).

``loyalty`` knows nothing of them: it announces what happened, after the transaction
committed, and receivers (thin glue) enqueue their own work. Business rules stay in the
receivers' services, never in the signal handlers."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit for every newly recorded event. Arguments: ``event_id``, ``member_id``,
# ``type``, ``amount`` (Decimal or None), ``occurred_at``.
event_recorded = Signal()

# Sent after commit for each chunk of purchases a CSV import wrote (thousands at a time).
# Argument: ``events``, a list of dicts with the arguments of ``event_recorded``. Receivers
# should look at them in bulk (one query per chunk, not one per event).
events_imported = Signal()
