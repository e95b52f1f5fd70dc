"""Deliveries the data team can chase: due dates, on time, late, rejected, overdue (audit.delivery_status)."""

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dagster_project import deliveries
from dagster_project.defs.ingestion.ledger import overdue_by_agency, write_delivery_status
from dagster_project.lake import Lake
from dagster_project.settings import PROJECT_DIR
from tests.conftest import TEST_KEY, ingest_all
from tests.nightly import small_zone
from tests.processes import pfpw_command

SHANGHAI = deliveries.SHANGHAI
LAST = "2012-12"


def landed(path: Path, when: dt.datetime) -> None:
    """A file that landed at ``when`` (Asia/Shanghai): its modification time."""
    ts = when.replace(tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))


def test_the_due_date_is_the_fifth_of_the_following_month_by_default():
    due = deliveries.DUE["township"]
    assert due.date_for("2012-03") == dt.date(2012, 4, 5)
    assert due.date_for("2012-12") == dt.date(2013, 1, 5)
    assert deliveries.Due(months_after=2, day=31).date_for("2012-12") == dt.date(2013, 2, 28)
    assert set(deliveries.DUE) == {"township", "hospital", "court", "finance"}


def test_a_passing_due_date_changes_the_calendar_part_of_the_state():
    on_5th, on_6th, on_20th = dt.date(2013, 1, 5), dt.date(2013, 1, 6), dt.date(2013, 1, 20)
    assert deliveries.calendar_position(on_5th) != deliveries.calendar_position(on_6th)
    assert deliveries.calendar_position(on_6th) == deliveries.calendar_position(on_20th)


@pytest.fixture(scope="module")
def chased(tmp_path_factory):
    """A small landing zone whose last month is delivered on time, late, rejected and not at all."""
    base = tmp_path_factory.mktemp("deliveries")
    src = small_zone(base / "sources")
    towns = sorted(p.stem for p in (src / "township" / LAST).glob("*.xlsx"))
    on_time, late, missing = towns[:3]
    for path in src.glob("*/*/*"):  # every month's files landed on the 2nd of the following month
        year, month = int(path.parent.name[:4]), int(path.parent.name[5:7])
        landed(path, dt.datetime(year + month // 12, month % 12 + 1, 2, 9, 0))
    landed(src / "township" / LAST / f"{on_time}.xlsx", dt.datetime(2013, 1, 5, 23, 30))  # the last evening
    landed(src / "township" / LAST / f"{late}.xlsx", dt.datetime(2013, 1, 20, 10, 0))
    (src / "township" / LAST / f"{missing}.xlsx").unlink()
    rejected = src / "hospital" / LAST / "H01_births.csv"
    rejected.write_bytes(b"")  # empty where a header is required: rejected, so not delivered
    landed(rejected, dt.datetime(2013, 1, 3, 9, 0))
    wh = base / "warehouse"
    ingest_all(src, wh)
    lake = Lake(wh)
    os.environ[deliveries.AS_OF_ENV] = "2013-02-01"
    try:
        status = write_delivery_status(lake, lake.ledger())
    finally:
        del os.environ[deliveries.AS_OF_ENV]
    return {"status": status, "on_time": on_time, "late": late, "missing": missing, "src": src, "base": base}


def row(status: pl.DataFrame, agency: str, unit: str, month: str = LAST) -> dict:
    rows = status.filter(
        (pl.col("agency") == agency) & (pl.col("unit_code") == unit) & (pl.col("reporting_month") == month)
    ).to_dicts()
    assert len(rows) == 1, (agency, unit, month)
    return rows[0]


def test_every_unit_and_month_of_the_landing_zone_is_expected(chased):
    status = chased["status"]
    towns = pl.read_csv(chased["src"] / "reference" / "townships.csv")["township_code"].cast(pl.Utf8)
    hospitals = pl.read_csv(chased["src"] / "reference" / "hospitals.csv")["hospital_code"]
    months = status["reporting_month"].unique().sort().to_list()
    assert months[0] == "2011-01" and months[-1] == LAST and len(months) == 24
    assert status.height == (len(towns) + len(hospitals) + 2) * 24
    assert status.select(["agency", "unit_code", "reporting_month"]).is_duplicated().sum() == 0


def test_a_township_delivered_by_the_evening_of_the_fifth_is_on_time(chased):
    r = row(chased["status"], "township", chased["on_time"])
    assert (r["status"], r["due_date"], r["days_late"], r["overdue"]) == (
        "on_time",
        dt.date(2013, 1, 5),
        None,
        False,
    )


def test_a_township_delivered_after_its_due_date_is_late_not_missing(chased):
    r = row(chased["status"], "township", chased["late"])
    assert (r["status"], r["days_late"], r["files_missing"], r["overdue"]) == ("late", 15, 0, False)


def test_a_township_missing_after_its_due_date_is_overdue(chased):
    r = row(chased["status"], "township", chased["missing"])
    assert (r["status"], r["files_missing"], r["files_delivered"], r["overdue"]) == ("overdue", 1, 0, True)
    assert r["delivered_at"] is None
    # and the month before, delivered on the 2nd of December, is on time
    assert row(chased["status"], "township", chased["missing"], "2012-11")["status"] == "on_time"


def test_a_rejected_file_counts_as_not_delivered(chased):
    r = row(chased["status"], "hospital", "H01")
    assert (r["files_expected"], r["files_delivered"], r["files_rejected"]) == (2, 1, 1)
    assert r["status"] == "rejected" and r["overdue"] is True


def test_before_the_due_date_a_missing_month_is_not_yet_due(chased):
    lake = Lake(chased["base"] / "warehouse")
    status = deliveries.delivery_status(
        lake.ledger(),
        {n: pl.read_parquet(lake.reference_path(n)) for n in ("townships", "hospitals")},
        [f"2011-{m:02d}" for m in range(1, 13)] + [f"2012-{m:02d}" for m in range(1, 13)],
        today=dt.date(2013, 1, 4),
    )
    r = row(status, "township", chased["missing"])
    assert (r["status"], r["overdue"]) == ("not_yet_due", False)


def test_the_warning_per_agency_names_the_overdue_units(chased):
    bad = overdue_by_agency(chased["status"])
    assert bad["township"]["unit_code"].to_list() == [chased["missing"]]
    assert bad["hospital"]["unit_code"].to_list() == ["H01"]
    assert bad["court"].height == 0 and bad["finance"].height == 0


def test_a_real_run_serves_the_statuses_and_warns_per_agency(chased, tmp_path):
    """pfpw run on that landing zone: audit.delivery_status in the served file, a warning naming the township."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "PFPW_PII_KEY": TEST_KEY.decode(),
        deliveries.AS_OF_ENV: "2013-02-01",
    }
    (tmp_path / "home").mkdir()
    wh = tmp_path / "wh"
    result = subprocess.run(
        pfpw_command(chased["src"], wh),
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # warnings do not block publication
    warning = next(line for line in result.stdout.splitlines() if "township_deliveries" in line)
    assert re.search(rf"1 unit\(s\) overdue: {chased['missing']} \S+: {LAST}", warning), warning
    assert any("hospital_deliveries" in line and "H01" in line for line in result.stdout.splitlines())
    con = duckdb.connect(str(wh / "serving.duckdb"), read_only=True)
    try:
        served = con.sql(
            "select status, count(*) from audit.delivery_status where reporting_month = ? group by 1 order by 1",
            params=[LAST],
        ).fetchall()
        checks = con.sql(
            "select check_name, passed, severity from audit.audit_results "
            "where asset = 'lake/delivery_status' order by 1"
        ).fetchall()
    finally:
        con.close()
    assert dict(served)["overdue"] == 1 and dict(served)["late"] == 1 and dict(served)["rejected"] == 1
    assert checks == [
        ("court_deliveries", True, "WARN"),
        ("finance_deliveries", True, "WARN"),
        ("hospital_deliveries", False, "WARN"),
        ("township_deliveries", False, "WARN"),
    ]


@pytest.mark.xdist_group("sample_run")
def test_the_sample_delivers_every_month_of_every_unit(sample_run):
    """The shipped sample: every township, hospital, the court and finance, every month, nothing missing."""
    con = duckdb.connect(str(sample_run["warehouse"] / "serving.duckdb"), read_only=True)
    try:
        (rows, units, months, missing) = con.sql(
            "select count(*), count(distinct agency || unit_code), count(distinct reporting_month), "
            "count(*) filter (where overdue or status = 'rejected') from audit.delivery_status"
        ).fetchone()
    finally:
        con.close()
    assert (units, months, missing) == (19 + 5 + 2, 24, 0)
    assert rows == units * months
