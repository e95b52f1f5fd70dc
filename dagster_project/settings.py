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


FANOUTS = ("district", "district-month")


def ingest_fanout() -> str:
    """How an agency's ingestion is cut into steps: ``district`` (default) or ``district-month``."""
    return os.environ.get("PFPW_INGEST_FANOUT", "district").strip() or "district"


def ingest_fanout_checked() -> str:
    fanout = ingest_fanout()
    if fanout not in FANOUTS:
        raise ValueError(f"PFPW_INGEST_FANOUT={fanout!r}: one of {', '.join(FANOUTS)}")
    return fanout


EXECUTORS = ("in_process", "multiprocess")


def executor() -> str:
    """Dagster's executor for `pfpw run`: ``in_process`` (default) or ``multiprocess`` (PFPW_EXECUTOR)."""
    name = os.environ.get("PFPW_EXECUTOR", "in_process").strip().replace("-", "_") or "in_process"
    if name not in EXECUTORS:
        raise ValueError(f"PFPW_EXECUTOR={name!r}: one of {', '.join(EXECUTORS)}")
    return name


def workers() -> int:
    """How many processes work at once (PFPW_WORKERS, default: the cores): the multiprocess executor's
    steps, or, in-process, the pool reading and validating a unit's changed files (ingest/run.py)."""
    raw = os.environ.get("PFPW_WORKERS", "").strip()
    if not raw:
        return os.cpu_count() or 1
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"PFPW_WORKERS={raw!r}: a whole number of processes, at least 1")
    return int(raw)


DUCKDB_MEMORY_LIMIT_VAR = "PFPW_DUCKDB_MEMORY_LIMIT"
DUCKDB_MEMORY_LIMIT = "3GB"  # the default: a province's ten years build within it (DuckDB spills beyond)


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for dbt's builds and the pipeline's own queries (PFPW_DUCKDB_MEMORY_LIMIT,
    default 3GB; DuckDB's own default is 80% of the machine). dbt reads the same variable (profiles.yml)."""
    return os.environ.get(DUCKDB_MEMORY_LIMIT_VAR, "").strip() or DUCKDB_MEMORY_LIMIT


ENGINE_VAR = "PFPW_ENGINE"
ENGINES = ("duckdb", "spark")


def engine() -> str:
    """The engine dbt builds on (PFPW_ENGINE): ``duckdb`` (default) or ``spark`` (engines.py)."""
    value = (os.environ.get(ENGINE_VAR) or "duckdb").strip().lower()
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_VAR}={value!r}: choose one of {', '.join(ENGINES)}")
    return value


MAX_ROW_DROP_SHARE_VAR = "PFPW_MAX_ROW_DROP_SHARE"


def max_row_drop_share() -> float:
    """The share of a mart's rows a publication may lose against the last one before its audit blocks it
    (PFPW_MAX_ROW_DROP_SHARE, default 0.10): a withdrawn month meant is published with one run above it."""
    raw = os.environ.get(MAX_ROW_DROP_SHARE_VAR, "").strip() or "0.10"
    try:
        share = float(raw)
    except ValueError:
        raise ValueError(f"{MAX_ROW_DROP_SHARE_VAR}={raw!r}: a share between 0 and 1") from None
    if not 0 <= share <= 1:
        raise ValueError(f"{MAX_ROW_DROP_SHARE_VAR}={raw!r}: a share between 0 and 1")
    return share


AS_OF_VAR = "PFPW_AS_OF"
DELIVERIES_UNTIL_VAR = "PFPW_EXPECT_DELIVERIES_UNTIL"


def as_of_raw() -> str:
    """The date the deliveries' statuses are taken at (PFPW_AS_OF, YYYY-MM-DD; empty: today in Asia/Shanghai)."""
    return os.environ.get(AS_OF_VAR, "").strip()


def deliveries_until() -> str:
    """Up to which month every unit is expected to deliver (PFPW_EXPECT_DELIVERIES_UNTIL: ``latest``
    (default: the latest month in the landing zone), ``today`` or ``YYYY-MM``; deliveries.py)."""
    return os.environ.get(DELIVERIES_UNTIL_VAR, "").strip() or "latest"


def failpoint() -> tuple[str | None, str | None, float]:
    """The kill tests' failpoint (PFPW_FAILPOINT), the marker file it writes (PFPW_FAILPOINT_MARKER) and how
    long it waits to be killed (PFPW_FAILPOINT_SLEEP, default 600 s): never set in production."""
    return (
        os.environ.get("PFPW_FAILPOINT") or None,
        os.environ.get("PFPW_FAILPOINT_MARKER") or None,
        float(os.environ.get("PFPW_FAILPOINT_SLEEP", "600")),
    )


def quiet_great_expectations() -> None:
    """Great Expectations sends usage statistics unless GX_ANALYTICS_ENABLED says no, read from the
    environment when it is imported: the one place the process's environment is written (no call of GX
    takes it otherwise), before GX is imported (checks/suites.py, checks/gx_runner.py). No network, ever."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


MAX_FILE_BYTES_VAR = "PFPW_MAX_FILE_BYTES"
MAX_WORKBOOK_CELLS_VAR = "PFPW_MAX_WORKBOOK_CELLS"


def _positive_int(var: str, default: int) -> int:
    raw = os.environ.get(var, "").replace("_", "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{var}={raw!r}: a whole number, at least 1")
    return int(raw)


def max_file_bytes() -> int:
    """The largest delivered file read (PFPW_MAX_FILE_BYTES, default 256 MiB): a larger one is rejected by
    name, never read into memory (a month's file of a province is a few MB)."""
    from dagster_project.landing import DEFAULT_MAX_FILE_BYTES

    return _positive_int(MAX_FILE_BYTES_VAR, DEFAULT_MAX_FILE_BYTES)


def max_workbook_cells() -> int:
    """The most cells a workbook's sheet may span (PFPW_MAX_WORKBOOK_CELLS, default 5,000,000): checked
    before the xlsx reader, which aborts the process on a sheet that declares an absurd size."""
    from dagster_project.ingest.workbook import MAX_CELLS

    return _positive_int(MAX_WORKBOOK_CELLS_VAR, MAX_CELLS)
