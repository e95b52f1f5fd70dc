"""Where things live and which secrets apply, from the environment, with documented defaults."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt"

# The key of the shipped synthetic sample. It is public: never a default. `make run` passes it
# explicitly for the sample; a real deployment sets its own PFPW_PII_KEY and keeps it secret.
SAMPLE_PII_KEY = "pfpw-development-key-for-synthetic-sample-only"
PII_KEY_VAR = "PFPW_PII_KEY"


class MissingPiiKey(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            f"{PII_KEY_VAR} is not set (or is empty): identity numbers cannot be pseudonymised. "
            f"Set {PII_KEY_VAR} to the deployment's secret key; for the synthetic sample only, "
            f"{PII_KEY_VAR}={SAMPLE_PII_KEY} (what `make run` uses)."
        )


def sources_dir() -> Path:
    return Path(os.environ.get("PFPW_SOURCES_DIR", "sources")).resolve()


def warehouse_dir() -> Path:
    return Path(os.environ.get("PFPW_WAREHOUSE_DIR", "warehouse")).resolve()


def pii_key() -> bytes:
    """The pseudonymisation key; there is no fallback: an unset or empty key is an error."""
    key = os.environ.get(PII_KEY_VAR, "")
    if not key.strip():
        raise MissingPiiKey()
    return key.encode("utf-8")
