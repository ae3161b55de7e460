from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The member portal: pages that bring the loyalty, rewards and referral apps together
    for one member. It sits on top of the dependency graph and owns no ledger rules."""

    name = "portal"
    verbose_name = _("Member portal")
