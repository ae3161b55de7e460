"""Staff roles: the Support and Marketing groups with their permissions, and the
permission-only model behind ``config.view_analytics``.

Support looks after members: reads members, ledger, events, redemptions, vouchers and
referrals, adjusts points, reviews flagged referrals and cancels redemptions; it changes
no programme settings. Marketing runs the programme: campaigns, rewards, earning rules,
tiers, referral settings and the analytics page; it never sees the ledger nor adjusts
points. Permissions are added to the groups (never removed), so re-running is harmless."""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

SUPPORT = {
    "accounts": ["view_user"],
    "loyalty": [
        "view_account", "view_entry", "view_lot", "view_event", "view_membersegment",
        "view_tier", "view_campaign", "adjust_points",
    ],
    "rewards": ["view_reward", "view_redemption", "view_voucher", "cancel_redemption"],
    "referrals": ["view_referral", "view_referralcode", "view_invite", "review_referral"],
}
MARKETING = {
    "loyalty": [
        "add_campaign", "change_campaign", "view_campaign",
        "add_earningrule", "change_earningrule", "view_earningrule",
        "add_tier", "change_tier", "view_tier",
    ],
    "rewards": ["add_reward", "change_reward", "view_reward"],
    "referrals": ["add_programsettings", "change_programsettings", "view_programsettings"],
    "config": ["view_analytics"],
}
GROUPS = {"Support": SUPPORT, "Marketing": MARKETING}


def _ensure_permissions(apps, schema_editor):
    """Permissions are normally created after all migrations ran; create them now."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None


def create(apps, schema_editor):
    _ensure_permissions(apps, schema_editor)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in grants.items():
            found = list(
                Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )
            missing = set(codenames) - {p.codename for p in found}
            if missing:
                raise RuntimeError(f"{name}: unknown permissions {app_label}.{sorted(missing)}")
            group.permissions.add(*found)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0001_beat_schedule"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0002_points_earned_emails"),
        ("loyalty", "0007_member_segments"),
        ("rewards", "0001_initial"),
        ("referrals", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Analytics",
            fields=[
                ("id", models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                )),
            ],
            options={
                "verbose_name": "analytics",
                "verbose_name_plural": "analytics",
                "permissions": [("view_analytics", "Can view the analytics page")],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(create, remove),
    ]
