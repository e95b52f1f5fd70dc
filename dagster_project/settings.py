"""The project's settings: one frozen object, :class:`Settings`, read from the environment in one place.

``Settings.from_env()`` is the only code in ``dagster_project/`` that reads ``os.environ`` (a test,
``tests/test_settings.py``, holds it), with three documented exceptions: the run lock's token that a
`pfpw run` hands its own step processes (``locks.py``), Great Expectations' analytics switch written
below (:func:`quiet_great_expectations`), and the variables a dbt child process is given
(``defs/dbt/assets.py`` builds them, ``dagster_private.py`` hands them over). ``bi/`` has its own
environment, and dbt's ``env_var()`` reads what it is given.

Who reads it: `pfpw run` once, and passes what the run needs explicitly (run config of the ``paths``
resource, the executor's config); a step reads it through that resource
(``defs/resources.py: PfpwPaths.settings``), the domain modules through :func:`current`. Each field
names its variable, default and meaning; the README's settings table is generated from them
(``python -m dagster_project.settings --markdown``, checked by the test).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_project.ingest.workbook import MAX_CELLS
from dagster_project.landing import DEFAULT_MAX_FILE_BYTES

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt"

# The key of the shipped synthetic sample. It is public: never a default. `make run` passes it
# explicitly for the sample; a real deployment sets its own PFPW_PII_KEY and keeps it secret.
SAMPLE_PII_KEY = "pfpw-development-key-for-synthetic-sample-only"
PII_KEY_VAR = "PFPW_PII_KEY"
FANOUTS = ("auto", "agency", "district", "district-month")
EXECUTORS = ("in_process", "multiprocess")
ENGINE_VAR = "PFPW_ENGINE"
ENGINES = ("duckdb", "spark")
AS_OF_VAR = "PFPW_AS_OF"
DELIVERIES_UNTIL_VAR = "PFPW_EXPECT_DELIVERIES_UNTIL"
# a province's ten years build within it (DuckDB spills beyond), and its processes stay under 4 GiB
DUCKDB_MEMORY_LIMIT = "2500MB"
README_BEGIN, README_END = "<!-- settings:begin -->", "<!-- settings:end -->"


class MissingPiiKey(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            f"{PII_KEY_VAR} is not set (or is empty): identity numbers cannot be pseudonymised. "
            f"Set {PII_KEY_VAR} to the deployment's secret key; for the synthetic sample only, "
            f"{PII_KEY_VAR}={SAMPLE_PII_KEY} (what `make run` uses)."
        )


# ------------------------------------------------------------------ how a variable's text becomes a value


def _text(raw: str) -> str:
    return raw.strip()


def _folder(raw: str) -> Path:
    return Path(raw.strip()).resolve()


def _one_of(choices: tuple[str, ...], normalise: Callable[[str], str] = str.strip) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = normalise(raw)
        if value not in choices:
            raise ValueError(f"{value!r}: one of {', '.join(choices)}")
        return value

    return parse


def _positive_int(raw: str) -> int:
    text = raw.replace("_", "").strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{text!r}: a whole number, at least 1")
    return int(text)


def _share(raw: str) -> float:
    try:
        share = float(raw)
    except ValueError:
        raise ValueError(f"{raw.strip()!r}: a share between 0 and 1") from None
    if not 0 <= share <= 1:
        raise ValueError(f"{raw.strip()!r}: a share between 0 and 1")
    return share


def _seconds(raw: str) -> float:
    return float(raw)


def _setting(
    var: str, default: Any, doc: str, parse: Callable[[str], Any] = _text, shown: str | None = None, **kw
):
    """A field of :class:`Settings`: its variable, default (``shown``: how the README writes it) and meaning.
    An unset or empty (blank) variable gives the default."""
    meta = {"var": var, "doc": doc, "parse": parse, "shown": shown}
    if callable(default):
        return field(default_factory=default, metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


def _folder_setting(var: str, name: str, doc: str):
    """A folder: ``name`` in the working directory unless the variable names another."""
    return _setting(
        var, lambda: Path(name).resolve(), doc, _folder, shown=f"`{name}` (in the working directory)"
    )


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """Every setting of `pfpw` and its steps, as the environment gives it (``from_env``) or a caller sets it."""

    sources_dir: Path = _folder_setting(
        "PFPW_SOURCES_DIR", "sources", "the landing zone (`pfpw run --sources`)"
    )
    warehouse_dir: Path = _folder_setting(
        "PFPW_WAREHOUSE_DIR", "warehouse", "the warehouse folder (`pfpw run --warehouse`)"
    )
    pii_key: str = _setting(
        PII_KEY_VAR,
        "",
        "the secret key of the pseudonyms (HMAC of identity numbers); required, never a default "
        "([docs/security.md](docs/security.md))",
        lambda raw: raw,
        shown="none: required",
        repr=False,
    )
    dagster_home: Path = _setting(
        "DAGSTER_HOME",
        lambda: PROJECT_DIR / ".dagster",
        "the Dagster instance `pfpw run` records its runs in (production: the one `make serve` uses)",
        _folder,
        shown="`.dagster` in the project",
    )
    executor: str = _setting(
        "PFPW_EXECUTOR",
        "in_process",
        "`pfpw run`'s executor, and the schedule's and sensor's: `in_process` or `multiprocess` "
        "(`pfpw run --executor`)",
        _one_of(EXECUTORS, lambda raw: raw.strip().replace("-", "_")),
    )
    workers: int = _setting(
        "PFPW_WORKERS",
        _cores,
        "processes at once: the multiprocess executor's steps, or in-process the pool reading a unit's "
        "files; the report's chart renderers (`pfpw run --workers`)",
        _positive_int,
        shown="the cores",
    )
    ingest_fanout: str = _setting(
        "PFPW_INGEST_FANOUT",
        "auto",
        "an agency's ingestion steps: one per `agency`, `district` or `district-month`; `auto`: one per agency "
        "in-process, one per district with the multiprocess executor",
        _one_of(FANOUTS),
    )
    engine: str = _setting(
        ENGINE_VAR,
        "duckdb",
        "what dbt builds on: `duckdb`, or `spark` ([docs/spark.md](docs/spark.md))",
        _one_of(ENGINES, lambda raw: raw.strip().lower()),
    )
    duckdb_memory_limit: str = _setting(
        "PFPW_DUCKDB_MEMORY_LIMIT",
        DUCKDB_MEMORY_LIMIT,
        "DuckDB's memory for dbt's builds and the pipeline's queries (spills to disk beyond it)",
    )
    max_file_bytes: int = _setting(
        "PFPW_MAX_FILE_BYTES",
        DEFAULT_MAX_FILE_BYTES,
        "the largest delivered file read; a larger one is rejected by name, never read",
        _positive_int,
        shown=f"`{DEFAULT_MAX_FILE_BYTES}` ({DEFAULT_MAX_FILE_BYTES // 2**20} MiB)",
    )
    max_workbook_cells: int = _setting(
        "PFPW_MAX_WORKBOOK_CELLS",
        MAX_CELLS,
        "the most cells a workbook's sheet may span (checked before the xlsx reader)",
        _positive_int,
    )
    max_row_drop_share: float = _setting(
        "PFPW_MAX_ROW_DROP_SHARE",
        0.10,
        "the share of a mart's rows a publication may lose against the last one before its audit blocks it",
        _share,
        shown="`0.10`",
    )
    as_of: str = _setting(
        AS_OF_VAR,
        "",
        "the day the deliveries' statuses are taken at (`YYYY-MM-DD`)",
        shown="today (Asia/Shanghai)",
    )
    expect_deliveries_until: str = _setting(
        DELIVERIES_UNTIL_VAR,
        "latest",
        "up to which month every unit is expected to deliver: `latest` (the landing zone's latest month), "
        "`today` or `YYYY-MM`",
    )
    sensor_interval_seconds: int = _setting(
        "PFPW_SENSOR_INTERVAL_SECONDS",
        60,
        "how often the landing-zone sensor looks (read when the definitions load)",
        _positive_int,
    )
    failpoint: str = _setting(
        "PFPW_FAILPOINT", "", "tests only: the named point where a run waits to be killed", shown="none"
    )
    failpoint_marker: str = _setting(
        "PFPW_FAILPOINT_MARKER", "", "tests only: the file the failpoint writes when reached", shown="none"
    )
    failpoint_sleep: float = _setting(
        "PFPW_FAILPOINT_SLEEP", 600.0, "tests only: the seconds the failpoint waits", _seconds, shown="`600`"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (``environ``, default ``os.environ``): the one place it is read.

        A value that is not one of a setting's raises ``ValueError`` naming the variable."""
        env = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f.metadata["var"], "")
            if not raw.strip():
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                raise ValueError(f"{f.metadata['var']}={exc}") from None
        return cls(**values)

    def key(self) -> bytes:
        """The pseudonymisation key; there is no fallback: an unset or empty key is an error."""
        if not self.pii_key.strip():
            raise MissingPiiKey()
        return self.pii_key.encode("utf-8")

    def duckdb_config(self, warehouse: Path) -> dict[str, str]:
        """The configuration of the pipeline's own DuckDB connections, as dbt's profile sets it for dbt:
        bounded memory, spilling beyond it into ``<warehouse>/duckdb_spill``."""
        return {
            "memory_limit": self.duckdb_memory_limit,
            "temp_directory": str(Path(warehouse) / "duckdb_spill"),
        }

    @classmethod
    def var(cls, name: str) -> str:
        """The environment variable of the field ``name``."""
        return next(f.metadata["var"] for f in dataclasses.fields(cls) if f.name == name)


def current() -> Settings:
    """The settings as the environment gives them now: for the domain code, which Dagster does not hand
    a resource to (the ingestion's reading pool, the publication, the audits' suites)."""
    return Settings.from_env()


def quiet_great_expectations() -> None:
    """Great Expectations sends usage statistics unless GX_ANALYTICS_ENABLED says no, read from the
    environment when it is imported: written here, before GX is imported (checks/suites.py,
    checks/gx_runner.py), since no call of GX takes it otherwise. No network, ever."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


# ------------------------------------------------------------------ the README's table


def _shown(f: dataclasses.Field) -> str:
    if f.metadata["shown"]:
        return f.metadata["shown"]
    return f"`{f.default}`"


def markdown_table() -> str:
    """Every setting, its default and meaning, as the README's table (between README_BEGIN and README_END)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [
        f"| `{f.metadata['var']}` | {_shown(f)} | {f.metadata['doc']} |" for f in dataclasses.fields(Settings)
    ]
    return "\n".join(lines)


def readme_section(text: str) -> str:
    """The table between the markers of ``text`` (the README), as it stands there."""
    start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
    return text[start:end].strip()


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m dagster_project.settings --markdown")
    print(markdown_table())
