"""Put back ``entry_debit_restored_once`` on PostgreSQL: a debit can be restored (a
cancelled redemption's points given back) once, enforced by the database.

0009 turned off the plain index of ``related_entry`` (``db_index=False``); on PostgreSQL
Django's ``AlterField`` then dropped every single-column index of that column, and with
it this partial unique index, which the model still declares (so no migration noticed).
SQLite rebuilds the table from the model and never lost it. If this migration fails with
a duplicate key, a debit was restored twice: see docs/operations.md, "verify_ledger"."""

from django.db import migrations

NAME = "entry_debit_restored_once"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [NAME])
        if cursor.fetchone():
            return
    entry = apps.get_model("loyalty", "Entry")
    constraint = next(c for c in entry._meta.constraints if c.name == NAME)
    schema_editor.add_constraint(entry, constraint)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0011_entry_activity_index")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
