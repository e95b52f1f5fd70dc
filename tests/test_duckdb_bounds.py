"""DuckDB's memory is bounded wherever the pipeline uses it (issue 27): dbt's connection (profiles.yml) and the
pipeline's own (publication, ledger checks) take ``PFPW_DUCKDB_MEMORY_LIMIT`` and spill beyond it into
``<warehouse>/tmp/duckdb``, never into the working directory."""

from __future__ import annotations

import json
import os
import subprocess

import duckdb

from dagster_project.defs.dbt.project import DBT_EXECUTABLE
from dagster_project.settings import PROJECT_DIR, Settings

LIMIT = "700.0 MiB"  # DuckDB reports a limit in its own units: 700MiB given, 700.0 MiB read back


def test_dbts_connection_has_the_memory_limit_and_spills_into_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    env = {
        **os.environ,
        "PFPW_WAREHOUSE_DIR": str(warehouse),
        "PFPW_DUCKDB_MEMORY_LIMIT": "700MiB",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    sql = "select current_setting('memory_limit') as m, current_setting('temp_directory') as t"
    out = subprocess.run(
        [DBT_EXECUTABLE, "show", "--inline", sql, "--output", "json", "--log-format", "json", "-q"],
        cwd=PROJECT_DIR / "dbt",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (shown,) = [
        e for e in map(json.loads, out.stdout.splitlines()) if e["info"]["code"] == "Q041"
    ]  # its result
    assert json.loads(shown["data"]["preview"]) == [{"m": LIMIT, "t": str(warehouse / "tmp" / "duckdb")}]


def test_the_pipelines_connections_take_the_same_bounds(tmp_path):
    given = Settings.from_env({"PFPW_DUCKDB_MEMORY_LIMIT": "700MiB"})
    con = duckdb.connect(config=given.duckdb_config(tmp_path))
    try:
        m, t = con.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
    finally:
        con.close()
    assert (m, t) == (LIMIT, str(tmp_path / "tmp" / "duckdb"))
