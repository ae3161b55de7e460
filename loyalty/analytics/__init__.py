"""Read-only analytics over the loyalty data for staff (the analytics page, the campaign
simulator). Everything is aggregated in SQL; Python only shapes aggregated rows."""
