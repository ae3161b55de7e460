"""Services of the loyalty app, one module per seam: ``ledger`` (moving points),
``expiry`` (set-based expiry and pending release)."""
