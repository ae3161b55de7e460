"""Models of the loyalty app, one module per seam: the ledger, earning (rules, tiers,
campaigns) and integrations (API keys, events)."""

from loyalty.models.earning import (
    LIVE_CAMPAIGN_STATUSES,
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
from loyalty.models.integrations import ApiKey, ApiReplay, Event
from loyalty.models.ledger import (
    DEBIT_KINDS,
    EARNING_KINDS,
    Account,
    Allocation,
    Entry,
    EntryKind,
    Lot,
    LotQuerySet,
    LotState,
)

__all__ = [
    "DEBIT_KINDS",
    "EARNING_KINDS",
    "LIVE_CAMPAIGN_STATUSES",
    "Account",
    "Allocation",
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
    "Lot",
    "LotQuerySet",
    "LotState",
    "Tier",
    "TierChange",
]
