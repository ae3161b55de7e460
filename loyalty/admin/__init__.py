"""Admin of the loyalty app, one module per seam."""

from loyalty.admin import earning, ledger, segments

__all__ = ["earning", "ledger", "segments"]
