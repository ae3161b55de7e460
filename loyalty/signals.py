"""Extension points for apps that build on the loyalty engine (referrals, analytics).

``loyalty`` knows nothing of them: it announces what happened, after the transaction
committed, and receivers (thin glue) enqueue their own work. Business rules stay in the
receivers' services, never in the signal handlers."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit for every newly recorded event. Arguments: ``event_id``, ``member_id``,
# ``type``, ``amount`` (Decimal or None), ``occurred_at``.
event_recorded = Signal()
