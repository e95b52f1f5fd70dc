"""A landing zone of two districts runs through the same code: nothing hard-codes district 331003."""

import os

import duckdb
import pytest

from dagster_project.cli import main

pytestmark = pytest.mark.xdist_group("two_districts")


@pytest.fixture(scope="module")
def two_districts(tmp_path_factory):
    base = tmp_path_factory.mktemp("two")
    assert main(["generate", "--out", str(base / "sources"), "--districts", "2", "--seed", "7"]) == 0
    os.environ["DAGSTER_HOME"] = str(base / "dagster_home")
    try:
        code = main(["run", "--sources", str(base / "sources"), "--warehouse", str(base / "warehouse")])
    finally:
        os.environ.pop("DAGSTER_HOME", None)
    return code, base / "warehouse"


def test_two_districts_each_reproduce_their_figures(two_districts):
    code, wh = two_districts
    assert code == 0
    db = wh / "serving.duckdb" if (wh / "serving.duckdb").exists() else wh / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    rows = con.sql("""select district_code, births, births_unplanned, townships_total
                      from marts.population_indicators_district where year = 2012 order by 1""").fetchall()
    fee = con.sql(
        "select district_code, cases_due, cases_filed from marts.fee_collection_district "
        "where year = 2012 order by 1"
    ).fetchall()
    towns = con.sql("select count(distinct township_code) from marts.fee_collection").fetchone()[0]
    con.close()
    assert [r[0] for r in rows] == ["331003", "331004"]
    assert all(r[1:] == (6287, 332, 19) for r in rows)
    assert all(f[1:] == (301, 293) for f in fee)
    assert towns == 38
