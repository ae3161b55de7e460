from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Rewards")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from rewards.models import Reward
        from rewards.selectors import catalogue_changed
        from rewards.verification import rewards_checks_register

        post_save.connect(catalogue_changed, sender=Reward, dispatch_uid="catalogue:save")
        post_delete.connect(catalogue_changed, sender=Reward, dispatch_uid="catalogue:delete")
        rewards_checks_register()
