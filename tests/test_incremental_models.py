"""An incremental dbt model rebuilt for the months a night changed equals a full rebuild, cell for cell, and so do
the marts built on it.

``int_population_reports`` (village month-end reports, the largest intermediate at a province's
scale) is incremental by reporting month (dbt/macros/incremental.sql). Here a small landing zone
is built, then one township corrects March 2011 and another withdraws April 2012; the months the
lake rewrote are passed to dbt as on an incremental night, and the table is compared with a full
build of the same lake. A row of an untouched month is marked beforehand: the incremental run
leaves it alone, so only the changed months' slices were replaced.

Then what the night rebuilds downstream of the township extracts (every mart among it: the monthly
marts' year to date, month-end stocks and same month last year, the yearly and target marts) is
compared with the full build, every table of schema marts: a corrected March 2011 changes the year to
date of April–December 2011 and the same-month-last-year columns of March 2012, which the night must
rebuild although it did not change those months.
"""

import json
import shutil
from pathlib import Path

import duckdb

from dagster_project.ingest.run import ingest_landing_zone
from dagster_project.ingest.targets import ingest_targets
from dagster_project.lake import Lake
from dagster_project.reference import load_reference
from tests.conftest import MARTS, TEST_KEY
from tests.nightly import small_zone
from tests.processes import dbt

MODEL = "intermediate.int_population_reports"
MONTHLY = "marts.population_indicators_monthly"


def ingest(zone: Path, warehouse: Path, run_id: str = "manual") -> None:
    """The landing zone into the warehouse's lake, its targets.csv included (what a night's ingestion does)."""
    ingest_landing_zone(zone, Lake(warehouse), TEST_KEY, run_id=run_id, workers=1)
    ingest_targets(zone, Lake(warehouse), load_reference(zone), TEST_KEY, 1 << 20, run_id=run_id)


def dbt_run(warehouse: Path, *args: str, select: str = "+int_population_reports") -> None:
    """`dbt run` of ``select`` (by default the model and all it reads) on the warehouse; any error fails the test."""
    target = str(warehouse / "dbt_target")
    result = dbt(warehouse, "run", "--select", *select.split(), "--target-path", target, *args)
    assert result.returncode == 0 and "ERROR=0" in result.stdout, result.stdout[-3000:]


def rows(warehouse: Path, where: str = "true", table: str = MODEL) -> list[tuple]:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(f"select * from {table} where {where} order by all").fetchall()


def schema_tables(
    warehouse: Path, schemas: tuple[str, ...] = ("marts",), where: dict[str, str] | None = None
) -> dict[str, list[tuple]]:
    """Every table of ``schemas`` (as schema.table), its rows in order; ``where``: a filter of some tables' rows."""
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        names = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where list_contains(?, schema_name)",
            [list(schemas)],
        ).fetchall()
    return {n: rows(warehouse, (where or {}).get(n, "true"), table=n) for (n,) in names}


def marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of schema marts, its rows in order."""
    return {name.removeprefix("marts."): found for name, found in schema_tables(warehouse).items()}


def ytd(warehouse: Path, township: str) -> dict[tuple[int, int], tuple]:
    """(year, month) -> a township's year-to-date figures and its same-period-last-year change."""
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            f"select year, month, births_ytd, deaths_ytd, births_ytd_yoy_pct from {MONTHLY} where township_code = ?",
            [township],
        ).fetchall()
    return {(y, m): rest for y, m, *rest in found}


def test_an_incremental_rerun_of_the_changed_months_equals_a_full_rebuild(tmp_path):
    zone = small_zone(tmp_path / "sources", townships=3, targets=True)
    wh = tmp_path / "wh"
    ingest(zone, wh, run_id="night-1")
    dbt_run(wh, "--full-refresh", select="fqn:*")
    books = sorted((zone / "township" / "2011-03").glob("*.xlsx"))
    corrected = books[0].stem
    before = ytd(wh, corrected)
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:  # a mark on an untouched month
        marked, deaths = con.sql(
            f"select village_code, deaths from {MODEL} where reporting_month = '2012-06' limit 1"
        ).fetchone()
        con.execute(
            f"update {MODEL} set deaths = -1 where reporting_month = '2012-06' and village_code = '{marked}'"
        )

    shutil.copy(zone / "township" / "2011-02" / books[0].name, books[0])  # March 2011 corrected
    (zone / "township" / "2012-04" / books[1].name).unlink()  # April 2012 withdrawn by another township
    ingest(zone, wh, run_id="night-2")
    changes = Lake(wh).changes("night-2")
    assert changes["township_population"] == ["2011-03", "2012-04"]
    night = ("--vars", json.dumps({"pfpw_changed_months": changes}))
    dbt_run(wh, *night)

    fresh = tmp_path / "fresh"
    ingest(zone, fresh)
    dbt_run(fresh, "--full-refresh", select="fqn:*")

    mark = f"reporting_month = '2012-06' and village_code = '{marked}'"
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert (
            con.sql(f"select deaths from {MODEL} where {mark}").fetchone()[0] == -1
        )  # untouched: still marked
    assert rows(wh, f"not ({mark})") == rows(fresh, f"not ({mark})")
    assert len(rows(fresh, "reporting_month in ('2011-03', '2012-04')")) > 50
    assert rows(wh, "source_file like 'township/2012-04/%'") == rows(
        fresh, "source_file like 'township/2012-04/%'"
    )

    # the rest of the night: what depends on the township extracts (the mark taken off first: it is no delivery)
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        con.execute(f"update {MODEL} set deaths = {deaths} where {mark}")
    dbt_run(wh, *night, select="source:township+ source:lake+ --exclude int_population_reports")
    assert rows(wh) == rows(fresh)
    served, full = marts(wh), marts(fresh)
    assert set(full) == MARTS and set(served) == MARTS
    assert [m for m in sorted(MARTS) if served[m] != full[m]] == []
    assert all(full[m] for m in MARTS), [m for m in MARTS if not full[m]]  # target marts included
    # the correction reached the months after it and the next year's same period, not only March 2011
    after = ytd(wh, corrected)
    moved = {k for k in before if before[k] != after[k]}
    assert {(2011, m) for m in range(3, 13)} <= moved and (2012, 3) in moved, sorted(moved)
    # 2012's own year to date is untouched: only the last year it is compared with changed
    assert before[(2012, 3)][:2] == after[(2012, 3)][:2]
