"""DuckDB's memory is bounded wherever the pipeline uses it (issue 27): dbt's connection (profiles.yml) and the
pipeline's own (publication, ledger checks) take ``PFPW_DUCKDB_MEMORY_LIMIT`` and spill beyond it into the
warehouse (dbt's working database: ``warehouse.duckdb.tmp``, DuckDB's default beside it; the pipeline's in-memory
connections: ``<warehouse>/duckdb_spill``), never into the working directory."""

from __future__ import annotations

import json

import duckdb

from dagster_project.settings import Settings
from tests.processes import dbt

LIMIT = "700.0 MiB"  # DuckDB reports a limit in its own units: 700MiB given, 700.0 MiB read back


def test_dbts_connection_has_the_memory_limit_and_spills_into_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    env = {
        "PFPW_DUCKDB_MEMORY_LIMIT": "700MiB",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    sql = "select current_setting('memory_limit') as m, current_setting('temp_directory') as t"
    out = dbt(
        warehouse,
        "show",
        "--inline",
        sql,
        "--output",
        "json",
        "--log-format",
        "json",
        "-q",
        timeout=300,
        env=env,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (shown,) = [
        e for e in map(json.loads, out.stdout.splitlines()) if e["info"]["code"] == "Q041"
    ]  # its result
    # DuckDB's own default beside the database file: the profile must not set it (dbt-duckdb sets its settings
    # on every connection, and DuckDB refuses to switch a folder it has used: a spilling build would fail)
    assert json.loads(shown["data"]["preview"]) == [
        {"m": LIMIT, "t": str(warehouse / "warehouse.duckdb.tmp")}
    ]


def test_the_pipelines_connections_take_the_same_bounds(tmp_path):
    given = Settings.from_env({"PFPW_DUCKDB_MEMORY_LIMIT": "700MiB"})
    con = duckdb.connect(config=given.duckdb_config(tmp_path))
    try:
        m, t = con.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
    finally:
        con.close()
    assert (m, t) == (LIMIT, str(tmp_path / "duckdb_spill"))


def test_a_query_beyond_the_limit_spills_into_the_warehouse_and_completes(tmp_path):
    """A sort of 4 million rows under a 32 MB limit: DuckDB creates its spill folder in the warehouse (only when
    it spills) and writes there instead of failing, and the answer is the whole one."""
    given = Settings.from_env({"PFPW_DUCKDB_MEMORY_LIMIT": "32MB"})
    spill = tmp_path / "duckdb_spill"
    con = duckdb.connect(
        str(tmp_path / "warehouse.duckdb"), config={**given.duckdb_config(tmp_path), "threads": 1}
    )
    try:
        con.execute("create table small as select 1 as one")
        assert not spill.exists()  # nothing spilled yet
        con.execute(
            "create table sorted as select (i * 7919) % 4000000 as k, i from range(4000000) t(i) order by k"
        )
        # the folder exists while the connection is open (DuckDB removes it on closing)
        assert spill.is_dir(), "nothing was spilled: the test no longer exceeds the limit"
        assert con.execute("select count(*), sum(k) from sorted").fetchone() == (4000000, 7999998000000)
    finally:
        con.close()
