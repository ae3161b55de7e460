"""Settings for the benchmarks only: the project's settings plus django-hordak.

Hordak is a benchmark comparison, not a dependency of Vafa: it is listed in
bench/requirements.txt and installed into INSTALLED_APPS here, never in config/settings.py.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "mptt", "hordak"]

# Points are whole numbers; hordak stores Money, so give it a currency and no decimals.
DEFAULT_CURRENCY = "EUR"
HORDAK_INTERNAL_CURRENCY = "EUR"
HORDAK_CURRENCIES = ["EUR"]

# config.settings needs DEBUG=1 in the environment for its development secret key; the
# benchmarks then run with DEBUG off, as production does (no per-query logging).
DEBUG = False
