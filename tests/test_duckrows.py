"""duckrows.insert_rows: the rows an ``executemany`` would insert, in one statement."""

import datetime as dt

import duckdb
import pytest

from dagster_project import duckrows

COLUMNS = "run_id varchar, asset varchar, passed boolean, failed varchar[], evaluated_at timestamptz, n bigint, share double"


def _rows():
    now = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    return [
        ["r1", "marts/fee_collection", True, [], now, 10**12, 0.5],
        ["r1", "缴费率", False, ["expect_column_values_to_not_be_null", "x"], now, 0, 1.0],
        ["r2", None, None, None, None, None, None],
        ["r3", "a'b; drop table t; --", True, ["?"], now, -1, 2.0],
    ]


def test_insert_rows_equals_executemany_in_values_types_and_order():
    con = duckdb.connect()
    con.execute(f"create table fast ({COLUMNS})")
    con.execute(f"create table slow ({COLUMNS})")
    duckrows.insert_rows(con, "fast", _rows())
    con.executemany("insert into slow values (?, ?, ?, ?, ?, ?, ?)", _rows())
    assert (
        con.execute("select * from fast order by rowid").fetchall()
        == con.execute("select * from slow order by rowid").fetchall()
    )
    assert con.execute("select typeof(failed), typeof(n) from fast limit 1").fetchone() == (
        "VARCHAR[]",
        "BIGINT",
    )
    # rows read back go in again unchanged (publication carries earlier audit results this way)
    duckrows.insert_rows(con, "fast", con.execute("select * from slow").fetchall())
    assert con.execute(
        "select count(*) from (select * from fast except all select * from slow)"
    ).fetchone() == (4,)


def test_insert_rows_of_nothing_and_of_uneven_rows():
    con = duckdb.connect()
    con.execute("create table t (a varchar, b bigint)")
    duckrows.insert_rows(con, "t", [])
    with pytest.raises(ValueError, match="different widths"):
        duckrows.insert_rows(con, "t", [["a", 1], ["b"]])
    assert con.execute("select count(*) from t").fetchone() == (0,)
