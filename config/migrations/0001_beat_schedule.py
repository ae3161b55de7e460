"""Create the beat schedule in django-celery-beat's tables, so staff can change the times
in the admin. The data mirrors config.jobs.SCHEDULE at the time of this migration."""

import json

from django.conf import settings
from django.db import migrations

SCHEDULE = {
    "expire_points": ("loyalty.tasks.points_expire_task", "5 0 * * *"),
    "expiry_reminders": ("loyalty.tasks.expiry_reminders_task", "0 9 * * *"),
    "release_pending": ("loyalty.tasks.pending_release_task", "15 * * * *"),
    "recompute_tiers": ("loyalty.tasks.tiers_recompute_task", "30 1 * * *"),
    "birthday_bonuses": ("loyalty.tasks.birthday_bonuses_task", "0 8 * * *"),
    "expire_vouchers": ("rewards.tasks.vouchers_expire_task", "10 0 * * *"),
    "run_campaigns": ("loyalty.tasks.campaigns_run_task", "*/10 * * * *"),
    "expire_referrals": ("referrals.tasks.referrals_expire_task", "20 0 * * *"),
}


def create(apps, schema_editor):
    crontabs = apps.get_model("django_celery_beat", "CrontabSchedule")
    tasks = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, spec) in SCHEDULE.items():
        minute, hour, day_of_month, month, day_of_week = spec.split()
        schedule, _ = crontabs.objects.get_or_create(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
            day_of_week=day_of_week, timezone=settings.TIME_ZONE,
        )
        tasks.objects.update_or_create(
            name=f"vafa: {name}",
            defaults={"task": task, "crontab": schedule, "kwargs": json.dumps({}), "enabled": True},
        )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__startswith="vafa: ").delete()


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create, remove)]
