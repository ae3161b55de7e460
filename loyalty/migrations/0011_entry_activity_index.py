"""PostgreSQL: the entries a member caused (every kind but expiries and releases) by
account and time, so the analytics page counts active members per month and over the
period in one index-only pass in account order (``loyalty.analytics.activity``; measured:
about 600 ms → 200 ms at 1,000,000 entries, docs/benchmarks.md). Built concurrently:
the ledger keeps taking entries while it is created. SQLite counts without it."""

from django.db import migrations

CREATE = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS entry_activity_idx
    ON loyalty_entry (account_id, occurred_at) WHERE kind NOT IN ('expire', 'release')
"""
DROP = "DROP INDEX CONCURRENTLY IF EXISTS entry_activity_idx"


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("loyalty", "0010_email_send_log")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
