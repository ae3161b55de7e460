"""The task outbox (config/outbox.py) and its every-minute drain job
(config.jobs.SCHEDULE["drain_outbox"])."""

import json

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

NAME = "vafa: drain_outbox"
TASK = "config.tasks.outbox_drain_task"


def schedule(apps, schema_editor):
    crontabs = apps.get_model("django_celery_beat", "CrontabSchedule")
    tasks = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = crontabs.objects.get_or_create(
        minute="*", hour="*", day_of_month="*", month_of_year="*", day_of_week="*",
        timezone=settings.TIME_ZONE,
    )
    tasks.objects.update_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": every_minute, "kwargs": json.dumps({}), "enabled": True},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('config', '0005_site_from_settings'),
    ]

    operations = [
        migrations.CreateModel(
            name='QueuedTask',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('task', models.CharField(max_length=200)),
                ('args', models.JSONField(default=list)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('due_at', models.DateTimeField()),
                ('attempts', models.PositiveIntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['due_at'], name='config_queuedtask_due_idx')],
            },
        ),
        migrations.RunPython(schedule, unschedule),
    ]
