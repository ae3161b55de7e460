"""RFM segments: each purchasing member scored 1–5 on recency, frequency and monetary
value (quintiles over all purchasers), with a label marketers can target campaigns at.
Recomputed nightly by ``loyalty.services.segments.segments_compute``."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models.earning import money_field


class SegmentLabel(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    NEW = "new", _("New")
    POTENTIAL = "potential", _("Potential")
    AT_RISK = "at_risk", _("At risk")
    HIBERNATING = "hibernating", _("Hibernating")


class MemberSegment(models.Model):
    """One row per member who ever purchased. Scores are quintiles: 5 is the most recent,
    most frequent or highest-spending fifth of purchasers, 1 the least."""

    account = models.OneToOneField(
        "loyalty.Account",
        on_delete=models.CASCADE,
        related_name="segment",
        verbose_name=_("points account"),
    )
    recency = models.PositiveSmallIntegerField(_("recency score"))
    frequency = models.PositiveSmallIntegerField(_("frequency score"))
    monetary = models.PositiveSmallIntegerField(_("monetary score"))
    label = models.CharField(_("segment"), max_length=16, choices=SegmentLabel.choices)
    last_purchase_at = models.DateTimeField(_("last purchase"))
    purchases = models.PositiveIntegerField(_("purchases"))
    spend = money_field(_("net spend"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("member segment")
        verbose_name_plural = _("member segments")
        constraints = [
            models.CheckConstraint(
                condition=Q(recency__gte=1, recency__lte=5)
                & Q(frequency__gte=1, frequency__lte=5)
                & Q(monetary__gte=1, monetary__lte=5),
                name="segment_scores_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["label"], name="segment_label_idx")]

    def __str__(self) -> str:
        return f"{self.get_label_display()} ({self.recency}{self.frequency}{self.monetary})"

    @property
    def rfm(self) -> str:
        return f"{self.recency}{self.frequency}{self.monetary}"
