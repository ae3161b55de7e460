"""On PostgreSQL the database refuses changes to the columns that define a lot's money:
its account, kind, points, tier flag, availability, expiry and creation time are fixed
when its credit opens it. What legitimately moves (``remaining``, ``state``, ``expired``,
``reversed``, ``owed``) stays writable; ``verify_ledger`` proves those against the entries.
There is no staff path that changes an expiry: a different expiry is a new credit."""

from django.db import migrations

FIXED = ("id", "account_id", "kind", "points", "qualifying", "available_at", "expires_at")
CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in (*FIXED, "created_at"))

CREATE = f"""
CREATE OR REPLACE FUNCTION loyalty_lot_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lot % is part of the points ledger: its account, kind, points, '
        'availability and expiry are fixed when it is opened; UPDATE refused', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loyalty_lot_fixed_columns BEFORE UPDATE ON loyalty_lot
    FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION loyalty_lot_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS loyalty_lot_fixed_columns ON loyalty_lot;
DROP FUNCTION IF EXISTS loyalty_lot_refuse_change();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL has literal % signs

    return run


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0013_entry_lot_expires_at")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
