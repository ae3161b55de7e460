"""Schedule the nightly RFM segment computation (config.jobs.SCHEDULE["compute_segments"])."""

import json

from django.conf import settings
from django.db import migrations

NAME = "vafa: compute_segments"
TASK = "config.tasks.segments_compute_task"
CRONTAB = "40 2 * * *"


def create(apps, schema_editor):
    crontabs = apps.get_model("django_celery_beat", "CrontabSchedule")
    tasks = apps.get_model("django_celery_beat", "PeriodicTask")
    minute, hour, day_of_month, month, day_of_week = CRONTAB.split()
    schedule, _ = crontabs.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
        day_of_week=day_of_week, timezone=settings.TIME_ZONE,
    )
    tasks.objects.update_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": schedule, "kwargs": json.dumps({}), "enabled": True},
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("config", "0002_staff_groups")]

    operations = [migrations.RunPython(create, remove)]
