"""Small helpers that turn environment values into settings."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def redis_db_url(url: str, db: int) -> str:
    """Return ``url`` pointing at Redis database number ``db``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def xdist_worker_number() -> int:
    """0 for ``gw0`` (or outside pytest-xdist), 1 for ``gw1`` and so on."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else 0


def filesystem_broker_options(root: Path) -> dict[str, str]:
    """Folders of kombu's filesystem transport, created under ``root``."""
    queue = root / "queue"
    processed = root / "processed"
    control = root / "control"
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
    }
