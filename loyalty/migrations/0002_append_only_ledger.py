"""On PostgreSQL the database itself refuses UPDATE and DELETE of ledger entries and
allocations: a mistake is corrected by a new entry, never by editing history."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION loyalty_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loyalty_entry_append_only BEFORE UPDATE OR DELETE ON loyalty_entry
    FOR EACH ROW EXECUTE FUNCTION loyalty_refuse_change();
CREATE TRIGGER loyalty_allocation_append_only BEFORE UPDATE OR DELETE ON loyalty_allocation
    FOR EACH ROW EXECUTE FUNCTION loyalty_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS loyalty_entry_append_only ON loyalty_entry;
DROP TRIGGER IF EXISTS loyalty_allocation_append_only ON loyalty_allocation;
DROP FUNCTION IF EXISTS loyalty_refuse_change();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL has literal % signs

    return run


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
