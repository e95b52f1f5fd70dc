"""Where the dbt models run: DuckDB (the default, in the working database) or Apache Spark.

``PFPW_ENGINE=duckdb|spark`` chooses, when the definitions load; the asset graph is the same.

- **duckdb**: dbt-duckdb builds every model into ``<warehouse>/warehouse.duckdb``.
- **spark**: the ``dbt`` of the Spark environment (``make spark-install``: ``.spark-venv``, never this
  process's: pyspark must not be imported beside great_expectations) builds the same models with
  the profile's ``spark`` target, its tables plain Parquet under ``<warehouse>/spark/warehouse/``.
  The tables are then loaded into the working database's schemas, with the marts' contract types,
  so the audits, the publication and BI see exactly what a DuckDB build gives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from dagster_project import settings
from dagster_project.settings import PROJECT_DIR

ENGINES = settings.ENGINES
ENGINE_VAR = settings.ENGINE_VAR
SPARK_VENV = PROJECT_DIR / ".spark-venv"
SPARK_DBT_EXECUTABLE = SPARK_VENV / "bin" / "dbt"
TABLE_MATERIALIZATIONS = ("table", "incremental")


class EngineUnavailable(Exception):
    pass


def engine() -> str:
    return settings.current().engine


def require_spark() -> Path:
    if not SPARK_DBT_EXECUTABLE.exists():
        raise EngineUnavailable(
            f"{ENGINE_VAR}=spark needs the Spark environment: run `make spark-install` ({SPARK_DBT_EXECUTABLE} is missing)"
        )
    return SPARK_DBT_EXECUTABLE


def spark_tables_root(warehouse: Path) -> Path:
    return warehouse / "spark" / "warehouse"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_spark_tables(
    manifest: Mapping[str, Any], warehouse: Path, unique_ids: set[str] | None = None
) -> dict[str, int]:
    """Every table-materialized model Spark built (``unique_ids``: only these), replaced in the working
    database from its Parquet folder. A model with an enforced contract gets its declared types
    (what dbt-duckdb's contract gives it); the others keep the Parquet types. Returns rows per table."""
    root = spark_tables_root(warehouse)
    loaded: dict[str, int] = {}
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    try:
        for uid, props in sorted(manifest["nodes"].items()):
            if (
                props["resource_type"] != "model"
                or props["config"].get("materialized") not in TABLE_MATERIALIZATIONS
            ):
                continue
            if unique_ids is not None and uid not in unique_ids:
                continue
            schema, name = props["schema"], props.get("alias") or props["name"]
            folder = root / f"{schema}.db" / name
            if not folder.is_dir():
                continue
            files = sorted(str(p) for p in folder.glob("*.parquet"))
            select = "select * from read_parquet(?)"
            contract = props["config"].get("contract", {}).get("enforced")
            declared = {n: c.get("data_type") for n, c in props.get("columns", {}).items()}
            if contract and declared and all(declared.values()):
                select = (
                    "select "
                    + ", ".join(f"cast({_quote(n)} as {t}) as {_quote(n)}" for n, t in declared.items())
                    + " from read_parquet(?)"
                )
            con.execute(f"create schema if not exists {_quote(schema)}")
            target = f"{_quote(schema)}.{_quote(name)}"
            if files:
                con.execute(f"create or replace table {target} as {select}", [files])
            else:  # no part file: an empty table with the declared columns, or the table as it was
                if contract and declared and all(declared.values()):
                    cols = ", ".join(f"{_quote(n)} {t}" for n, t in declared.items())
                    con.execute(f"create or replace table {target} ({cols})")
                else:
                    continue
            loaded[f"{schema}.{name}"] = con.execute(f"select count(*) from {target}").fetchone()[0]
    finally:
        con.close()
    return loaded
