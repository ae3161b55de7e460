"""Marketing sets vanity referral codes for influencers and partners: the group may add
and change referral codes (the admin checks that a code is free in any letter case).
Reversing takes exactly these two permissions away again."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Marketing"
CODENAMES = ["add_referralcode", "change_referralcode"]


def _permissions(apps, schema_editor):
    referrals = apps.get_app_config("referrals")
    referrals.models_module = True  # permissions are normally created after migrate
    create_permissions(referrals, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    referrals.models_module = None
    found = list(
        apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label="referrals", codename__in=CODENAMES
        )
    )
    if len(found) != len(CODENAMES):
        raise RuntimeError(f"{GROUP}: missing permissions among referrals.{CODENAMES}")
    return found


def grant(apps, schema_editor):
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=GROUP)
    group.permissions.add(*_permissions(apps, schema_editor))


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, schema_editor))


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0003_segments_schedule"),
        ("referrals", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
