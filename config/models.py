"""Permission-only models of the back office (no tables)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Analytics(models.Model):
    """Holds the ``config.view_analytics`` permission of the staff analytics page."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_analytics", _("Can view the analytics page"))]
        verbose_name = _("analytics")
        verbose_name_plural = _("analytics")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
