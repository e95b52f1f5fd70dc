"""Data tests scoped to the months a night rebuilt (dbt/macros/get_where_subquery.sql).

The tests of ``int_population_reports`` (incremental by month) and ``stg_township__population`` look, on an
incremental night, only at the months the night rewrote in the township population extract; in a full build,
at every month. Here a real dbt build of the sample's lake, then a duplicate village-month slipped into the
table: in a rebuilt month the night's test catches it; in a month the night did not touch it is outside the
night's scope (that month's rows are the last full build's, which passed), and a full build's test catches it.
"""

import json
import shutil

import duckdb

from tests.processes import dbt

TABLE = "intermediate.int_population_reports"


def _test(warehouse, changed: dict | None) -> str:
    env = {"PFPW_CHANGED_MONTHS": json.dumps(changed)} if changed is not None else {}
    result = dbt(
        warehouse,
        "test",
        "--select",
        "int_population_reports stg_township__population,test_type:data",
        "--exclude",
        "test_type:unit",
        "--target-path",
        str(warehouse / "dbt_target"),
        env=env,
    )
    return result.stdout


def _duplicate(warehouse, month: str) -> None:
    with duckdb.connect(str(warehouse / "warehouse.duckdb")) as con:
        con.execute(f"insert into {TABLE} select * from {TABLE} where reporting_month = ? limit 1", [month])


def test_a_nights_data_tests_look_at_its_months_and_a_full_build_at_all(sample_lake, tmp_path):
    wh = tmp_path / "wh"
    shutil.copytree(sample_lake, wh)
    target = str(wh / "dbt_target")
    built = dbt(wh, "run", "--select", "+int_population_reports", "--target-path", target)
    assert built.returncode == 0 and "ERROR=0" in built.stdout, built.stdout[-3000:]
    night = {"township_population": ["2012-03"]}

    _duplicate(wh, "2011-06")  # a month this night did not rewrite
    assert "ERROR=0" in _test(wh, night)  # outside the night's scope
    full = _test(wh, None)
    assert "ERROR=1" in full and "unique_combination_int_population_reports" in full

    _duplicate(wh, "2012-03")  # a month it did
    scoped = _test(wh, night)
    assert "ERROR=1" in scoped and "unique_combination_int_population_reports" in scoped
    compiled = [p.read_text(encoding="utf-8") for p in (wh / "dbt_target" / "compiled").rglob("*.sql")]
    unique = [sql for sql in compiled if "int_population_reports" in sql and "having count(*) > 1" in sql]
    assert len(unique) == 1 and "where reporting_month in ('2012-03')) as dbt_subquery" in unique[0]
