"""Where things live and which secrets apply, from the environment, with documented defaults."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt"

# A development default so that the shipped synthetic sample runs out of the box.
# Production deployments must set PFPW_PII_KEY (the README says how); a new key re-ingests everything.
DEV_PII_KEY = "pfpw-development-key-for-synthetic-sample-only"


def sources_dir() -> Path:
    return Path(os.environ.get("PFPW_SOURCES_DIR", "sources")).resolve()


def warehouse_dir() -> Path:
    return Path(os.environ.get("PFPW_WAREHOUSE_DIR", "warehouse")).resolve()


def pii_key() -> bytes:
    return os.environ.get("PFPW_PII_KEY", DEV_PII_KEY).encode("utf-8")
