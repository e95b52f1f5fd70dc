"""The monthly marts (metrics.md, "Monthly supervision (月督查)"): a row for every township in every covered month,
a quarter's figures from the files, December equal to the yearly marts, and a year to date when the latest year is
not complete."""

import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from dagster_project.ingest.run import ingest_landing_zone
from dagster_project.lake import Lake
from dagster_project.settings import DBT_PROJECT_DIR
from tests.conftest import TEST_KEY
from tests.nightly import small_zone
from tests.test_golden import DISTRICT, served

MONTHLY = ("population_indicators", "fee_collection", "enforcement_outcomes")
# the yearly figure a monthly one is compared with when its name is not the _ytd one without _ytd
NAMESAKES = {
    "birth_defect_rate_permille_ytd_yoy_pp": "birth_defect_rate_permille_yoy",
}


def references(sources: Path, name: str) -> list[dict[str, str]]:
    lines = (sources / "reference" / name).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]


def columns(run, mart: str) -> list[str]:
    return [
        r[0]
        for r in served(
            run,
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = ? order by ordinal_position",
            (mart,),
        )
    ]


# ------------------------------------------------------------------------------------------------ on the sample
@pytest.mark.xdist_group("sample_run")
@pytest.mark.parametrize("name", MONTHLY)
def test_every_township_has_a_row_in_every_month_of_the_covered_years(sample_run, name):
    townships = {t["township_code"] for t in references(sample_run["sources"], "townships.csv")}
    months = [(y, m) for y in (2011, 2012) for m in range(1, 13)]  # the sample: two whole years
    rows = served(sample_run, f"select year, month, township_code from marts.{name}_monthly")
    assert sorted(rows) == sorted((y, m, t) for y, m in months for t in townships)
    district = served(sample_run, f"select year, month, district_code from marts.{name}_district_monthly")
    assert sorted(district) == [(y, m, DISTRICT) for y, m in months]


def parse_date(cell) -> dt.date | None:
    """A workbook's date cell as the contract allows it: an Excel date, 2012-03-05, 2012/3/5 or 2012年3月5日."""
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    match = re.fullmatch(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?", str(cell).strip())
    return dt.date(*map(int, match.groups())) if match else None


def registrations(sources: Path) -> tuple[dict[str, tuple[dt.date | None, str, str]], int]:
    """Every registration of the township workbooks, once per 登记编号 in its current delivery (the latest month
    folder, then the later file, then the later row; within a file the first row): {id: (出生日期, 性别, 村居代码)};
    and how many rows another delivery replaced."""
    current: dict[str, tuple[dt.date | None, str, str]] = {}
    replaced = 0
    for book in sorted((sources / "township").glob("*/*.xlsx")):  # month folder, then file name
        rows = CalamineWorkbook.from_path(book).get_sheet_by_name("出生登记").to_python()
        at = next(i for i, row in enumerate(rows) if str(row[0]).strip() == "登记编号")
        header = [str(c).strip() for c in rows[at]]
        seen: set[str] = set()
        for row in rows[at + 1 :]:
            record = dict(zip(header, row, strict=False))
            key = str(record["登记编号"]).strip()
            if not key or key == "合计" or key in seen:
                continue
            seen.add(key)
            replaced += key in current
            current[key] = (parse_date(record["出生日期"]), str(record["性别"]), str(record["村居代码"]))
    return current, replaced


@pytest.mark.xdist_group("sample_run")
def test_the_first_quarter_sex_ratio_of_2012_is_the_files_boys_over_girls(sample_run):
    """The report's "rebounded in the first quarter": a quarter is the sum of its months' flows."""
    sources = sample_run["sources"]
    villages = {v["village_code"] for v in references(sources, "villages.csv")}
    current, replaced = registrations(sources)
    superseded = served(
        sample_run,
        "select coalesce(sum(rows_superseded), 0) from audit.superseded_rows_by_file "
        "where extract = 'township_births'",
    )[0][0]
    assert replaced == superseded == 0  # no registration of the sample is delivered twice
    quarter = [
        sex
        for born, sex, village in current.values()
        if village in villages and born and dt.date(2012, 1, 1) <= born <= dt.date(2012, 3, 31)
    ]
    boys, girls = quarter.count("男"), quarter.count("女")
    assert boys > 700 and girls > 700

    (mart_boys, mart_girls, births), *_ = served(
        sample_run,
        "select sum(boys), sum(girls), sum(births) from marts.population_indicators_district_monthly "
        "where year = 2012 and month between 1 and 3",
    )
    assert (mart_boys, mart_girls, births) == (boys, girls, len(quarter))
    assert 100 * mart_boys / mart_girls == 100 * boys / girls
    march = served(
        sample_run,
        "select sex_ratio_at_birth_ytd from marts.population_indicators_district_monthly "
        "where year = 2012 and month = 3",
    )[0][0]
    assert math.isclose(march, 100 * boys / girls, rel_tol=1e-12)  # the year to date of March is the quarter


def december_pairs(run, name: str) -> list[tuple[str, str]]:
    """(monthly column, yearly column): every _ytd figure and its yearly namesake, and the month-end stocks."""
    monthly, yearly = columns(run, f"{name}_monthly"), set(columns(run, name))
    pairs = []
    for column in monthly:
        namesake = NAMESAKES.get(column, column.replace("_ytd", ""))
        if "_ytd" in column and namesake in yearly:
            pairs.append((column, namesake))
        else:
            assert "_ytd" not in column or "_yoy" in column, f"{name}_monthly.{column} has no yearly namesake"
    if name == "population_indicators":
        pairs.append(("population_end", "population_end"))
    return pairs


@pytest.mark.xdist_group("sample_run")
@pytest.mark.parametrize("name", MONTHLY)
@pytest.mark.parametrize("grain", ["", "_district"])
def test_december_equals_the_yearly_mart_bit_for_bit(sample_run, name, grain):
    key = "district_code" if grain else "township_code"
    pairs = december_pairs(sample_run, name)
    assert len(pairs) >= 8
    monthly = ", ".join(m for m, _ in pairs)
    yearly = ", ".join(y for _, y in pairs)
    december = served(
        sample_run,
        f"select year, {key}, {monthly} from marts.{name}{grain}_monthly where month = 12 order by 1, 2",
    )
    assert december == served(
        sample_run, f"select year, {key}, {yearly} from marts.{name}{grain} order by 1, 2"
    )
    assert len(december) == (2 if grain else 38)
    if (
        name == "population_indicators"
    ):  # women of childbearing age: service_station_coverage's December stock
        women = f"select year, {key}, women_childbearing_age from marts.{{}} where {{}} order by 1, 2"
        assert served(sample_run, women.format(f"{name}{grain}_monthly", "month = 12")) == served(
            sample_run, women.format(f"service_station_coverage{grain}", "true")
        )


@pytest.mark.xdist_group("sample_run")
def test_the_dbt_test_of_the_invariant_ran_in_the_build_and_passed(sample_run):
    target = sample_run["warehouse"] / "dbt_target"
    manifest = json.loads((target / "manifest.json").read_text())
    test = "test.pfpw.monthly_december_equals_yearly"
    parents = set(manifest["parent_map"][test])
    assert {
        f"model.pfpw.{n}{g}{m}" for n in MONTHLY for g in ("", "_district") for m in ("", "_monthly")
    } <= parents
    results = json.loads((target / "run_results.json").read_text())
    assert results["args"]["which"] == "build"
    assert {r["unique_id"]: r["status"] for r in results["results"]}[test] == "pass"


# ------------------------------------------------------------------------------------------------ a partial year
def dbt(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """The environment's dbt in the dbt folder, on the warehouse folder only (PFPW_WAREHOUSE_DIR)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--target-path", str(warehouse / "dbt_target")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "PFPW_WAREHOUSE_DIR": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_partial_latest_year_has_its_months_to_date_compared_with_the_same_months_last_year(tmp_path):
    """Three townships of the sample with 2012 delivered up to March only: 2011 is covered, 2012 is the year to
    date (January to March); the yearly marts have 2011 only; every _yoy figure of 2012 compares with the same
    month of 2011."""
    zone = small_zone(tmp_path / "sources", townships=3)
    for folder in zone.glob("*/2012-*"):
        if folder.name > "2012-03":
            shutil.rmtree(folder)
    wh = tmp_path / "wh"
    ingest_landing_zone(zone, Lake(wh), TEST_KEY, workers=1)
    marts = [f"{n}{g}" for n in MONTHLY for g in ("_district", "_district_monthly")]
    marts.append("service_station_coverage_district")  # the invariant's December stock of women
    selected = ("--select", *(f"+{m}" for m in marts), "--indirect-selection", "cautious")
    result = dbt(wh, "build", *selected)
    assert result.returncode == 0 and "ERROR=0" in result.stdout, result.stdout[-3000:]
    ran = {
        r["unique_id"]: r["status"]
        for r in json.loads((wh / "dbt_target" / "run_results.json").read_text())["results"]
    }
    assert ran["test.pfpw.monthly_december_equals_yearly"] == "pass"  # December 2011 = 2011

    con = duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True)
    sql = lambda q: con.sql(q).fetchall()  # noqa: E731
    months = [(2011, m) for m in range(1, 13)] + [(2012, m) for m in (1, 2, 3)]
    for name in MONTHLY:
        assert sql(f"select distinct year, month from marts.{name}_monthly order by 1, 2") == months
        assert sql(f"select count(*) from marts.{name}_monthly") == [(3 * len(months),)]
        assert sql(f"select year, month from marts.{name}_district_monthly order by 1, 2") == months
        assert sql(f"select distinct year from marts.{name}") == [(2011,)]  # 2012 is not covered

    pop = {
        (y, m): rest
        for y, m, *rest in sql(
            "select year, month, births, births_ytd, planned_birth_rate_ytd, births_ytd_yoy_pct, "
            "planned_birth_rate_ytd_yoy_pp, population_end from marts.population_indicators_district_monthly"
        )
    }
    assert pop[2012, 3][1] == sum(pop[2012, m][0] for m in (1, 2, 3)) > 0  # the year to date
    assert all(pop[2011, m][3] is None and pop[2011, m][4] is None for m in range(1, 13))  # no 2010
    for m in (1, 2, 3):
        births, ytd, rate, growth, points, population = pop[2012, m]
        last = pop[2011, m]
        assert growth == pytest.approx(100 * (ytd / last[1] - 1), rel=1e-12)
        assert points == pytest.approx(rate - last[2], rel=1e-12, abs=1e-12)
        assert population is not None  # March's reports are in
    fee = dict(
        ((y, m), (rate, points))
        for y, m, rate, points in sql(
            "select year, month, filing_rate_ytd, filing_rate_ytd_yoy_pp from marts.fee_collection_district_monthly"
        )
    )
    courts = dict(
        ((y, m), (ytd, growth))
        for y, m, ytd, growth in sql(
            "select year, month, court_applications_ytd, court_applications_ytd_yoy_pct "
            "from marts.enforcement_outcomes_district_monthly"
        )
    )
    for m in (1, 2, 3):
        if fee[2011, m][0] is not None and fee[2012, m][0] is not None:
            assert fee[2012, m][1] == pytest.approx(fee[2012, m][0] - fee[2011, m][0], abs=1e-12)
        if courts[2011, m][0]:
            assert courts[2012, m][1] == pytest.approx(100 * (courts[2012, m][0] / courts[2011, m][0] - 1))
    con.close()
