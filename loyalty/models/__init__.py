"""Models of the loyalty app, one module per seam: the ledger, earning (rules, tiers,
campaigns), integrations (API keys, events) and the send logs of emails."""

from loyalty.models.earning import (
    LIVE_CAMPAIGN_STATUSES,
    AnnouncementDelivery,
    Campaign,
    CampaignKind,
    CampaignParticipation,
    CampaignStatus,
    CapPeriod,
    EarningRule,
    EventType,
    Tier,
    TierChange,
)
from loyalty.models.emails import EMAIL_CLAIM_LEASE, SendLogQuerySet, SentEmail
from loyalty.models.integrations import ApiKey, ApiReplay, Event
from loyalty.models.ledger import (
    DEBIT_KINDS,
    EARNING_KINDS,
    Account,
    Allocation,
    Entry,
    EntryKind,
    ExpiryReminder,
    Lot,
    LotQuerySet,
    LotState,
)
from loyalty.models.segments import MemberSegment, SegmentLabel

__all__ = [
    "DEBIT_KINDS",
    "EARNING_KINDS",
    "EMAIL_CLAIM_LEASE",
    "LIVE_CAMPAIGN_STATUSES",
    "Account",
    "Allocation",
    "AnnouncementDelivery",
    "ApiKey",
    "ApiReplay",
    "Campaign",
    "CampaignKind",
    "CampaignParticipation",
    "CampaignStatus",
    "CapPeriod",
    "EarningRule",
    "Entry",
    "EntryKind",
    "Event",
    "EventType",
    "ExpiryReminder",
    "Lot",
    "LotQuerySet",
    "LotState",
    "MemberSegment",
    "SegmentLabel",
    "SendLogQuerySet",
    "SentEmail",
    "Tier",
    "TierChange",
]
