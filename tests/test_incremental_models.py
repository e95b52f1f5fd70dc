"""An incremental dbt model rebuilt for the months a night changed equals a full rebuild, cell for cell.

``int_population_reports`` (village month-end reports, the largest intermediate at a province's
scale) is incremental by reporting month (dbt/macros/incremental.sql). Here a small landing zone
is built, then one township corrects March and another withdraws April; the months the lake
rewrote are passed to dbt as on an incremental night, and the table is compared with a full
build of the same lake. A row of an untouched month is marked beforehand: the incremental run
leaves it alone, so only the changed months' slices were replaced.
"""

import json
import shutil
from pathlib import Path

import duckdb

from dagster_project.ingest.run import ingest_landing_zone
from dagster_project.lake import Lake
from tests.conftest import TEST_KEY
from tests.nightly import small_zone
from tests.processes import dbt

MODEL = "intermediate.int_population_reports"


def dbt_run(warehouse: Path, *args: str) -> None:
    """`dbt run` of the model and all it reads, on the warehouse; any error fails the test."""
    target = str(warehouse / "dbt_target")
    result = dbt(warehouse, "run", "--select", "+int_population_reports", "--target-path", target, *args)
    assert result.returncode == 0 and "ERROR=0" in result.stdout, result.stdout[-3000:]


def rows(warehouse: Path, where: str = "true") -> list[tuple]:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(f"select * from {MODEL} where {where} order by all").fetchall()


def test_an_incremental_rerun_of_the_changed_months_equals_a_full_rebuild(tmp_path):
    zone = small_zone(tmp_path / "sources", townships=3)
    wh = tmp_path / "wh"
    ingest_landing_zone(zone, Lake(wh), TEST_KEY, run_id="night-1", workers=1)
    dbt_run(wh, "--full-refresh")
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:  # a mark on an untouched month
        marked = con.sql(
            f"select village_code from {MODEL} where reporting_month = '2012-06' limit 1"
        ).fetchone()[0]
        con.execute(
            f"update {MODEL} set deaths = -1 where reporting_month = '2012-06' and village_code = '{marked}'"
        )

    books = sorted((zone / "township" / "2012-03").glob("*.xlsx"))
    shutil.copy(zone / "township" / "2012-02" / books[0].name, books[0])  # March corrected
    (zone / "township" / "2012-04" / books[1].name).unlink()  # April withdrawn by one township
    ingest_landing_zone(zone, Lake(wh), TEST_KEY, run_id="night-2", workers=1)
    changes = Lake(wh).changes("night-2")
    assert changes["township_population"] == ["2012-03", "2012-04"]
    dbt_run(wh, "--vars", json.dumps({"pfpw_changed_months": changes}))

    fresh = tmp_path / "fresh"
    ingest_landing_zone(zone, Lake(fresh), TEST_KEY, workers=1)
    dbt_run(fresh, "--full-refresh")

    mark = f"reporting_month = '2012-06' and village_code = '{marked}'"
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert (
            con.sql(f"select deaths from {MODEL} where {mark}").fetchone()[0] == -1
        )  # untouched: still marked
    assert rows(wh, f"not ({mark})") == rows(fresh, f"not ({mark})")
    assert len(rows(fresh, "reporting_month in ('2012-03', '2012-04')")) > 50
    assert rows(wh, "source_file like 'township/2012-04/%'") == rows(
        fresh, "source_file like 'township/2012-04/%'"
    )
