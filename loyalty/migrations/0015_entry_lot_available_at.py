from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0014_lot_fixed_columns")]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="lot_available_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="lot availability at credit"
            ),
        ),
    ]
