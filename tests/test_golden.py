"""The golden test: `pfpw run` on the shipped sample reproduces every figure of metrics.md's golden table."""

from decimal import Decimal

import duckdb
import pytest

from dagster_project.rounding import round_half_away

pytestmark = pytest.mark.xdist_group("sample_run")

DISTRICT = "331003"

# (mart, column, year, expected, tolerance) — metrics.md, "The golden year"; exact at 2 decimals unless a
# tolerance is given (the report's year-on-year rate changes are themselves rounded: ±0.05).
GOLDEN = [
    ("population_indicators_district", "births", 2012, 6287, 0),
    ("population_indicators_district", "births_unplanned", 2012, 332, 0),
    ("population_indicators_district", "births_unplanned", 2011, 326, 0),
    ("population_indicators_district", "planned_birth_rate", 2012, "94.72", 0),
    ("population_indicators_district", "sex_ratio_at_birth", 2012, "108.28", 0),
    ("population_indicators_district", "boys", 2012, 3268, 0),
    ("population_indicators_district", "girls", 2012, 3018, 0),
    ("population_indicators_district", "natural_growth_rate_permille", 2012, "3.57", 0),
    ("population_indicators_district", "villages_with_unplanned", 2012, 215, 0),
    ("population_indicators_district", "villages_total", 2012, 569, 0),
    ("population_indicators_district", "villages_with_unplanned_share", 2012, "37.79", 0),
    ("population_indicators_district", "villages_with_unplanned_share", 2011, "37.79", 0),
    ("population_indicators_district", "birth_defect_rate_permille_yoy", 2012, "-3.42", 0),
    ("fee_collection_district", "cases_due", 2012, 301, 0),
    ("fee_collection_district", "cases_filed", 2012, 293, 0),
    ("fee_collection_district", "cases_compliant", 2012, 213, 0),
    ("fee_collection_district", "filing_rate", 2012, "97.34", 0),
    ("fee_collection_district", "compliance_rate", 2012, "70.76", 0),
    ("fee_collection_district", "collection_rate", 2012, "91.00", 0),
    ("fee_collection_district", "filing_rate_yoy_pp", 2012, "7.71", "0.05"),
    ("fee_collection_district", "collection_rate_yoy_pp", 2012, "5.04", "0.05"),
    ("fee_collection_district", "compliance_rate_yoy_pp", 2012, "7.37", "0.05"),
    ("enforcement_outcomes_district", "court_applications", 2012, 415, 0),
    ("enforcement_outcomes_district", "court_applications", 2011, 119, 0),
    ("enforcement_outcomes_district", "court_applications_yoy_pct", 2012, "248.74", 0),
    ("enforcement_outcomes_district", "deposits_amount_yoy_pct", 2012, "913.17", 0),
    ("enforcement_outcomes_district", "judicial_detentions", 2012, 37, 0),
    ("enforcement_outcomes_district", "judicial_detentions", 2011, 8, 0),
    ("enforcement_outcomes_district", "liangfei_cases", 2012, 58, 0),
    ("enforcement_outcomes_district", "liangfei_dens_destroyed", 2012, 4, 0),
    ("enforcement_outcomes_district", "liangfei_permits_cancelled", 2012, 2, 0),
    ("enforcement_outcomes_district", "liangfei_criminal_detentions", 2012, 3, 0),
    ("enforcement_outcomes_district", "liangfei_sentenced", 2012, 2, 0),
    ("enforcement_outcomes_district", "liangfei_admin_fines", 2012, "178900.00", 0),
    ("service_station_coverage_district", "townships_total", 2012, 19, 0),
    ("service_station_coverage_district", "stations_central", 2012, 3, 0),
    ("service_station_coverage_district", "stations_level1", 2012, 1, 0),
    ("service_station_coverage_district", "stations_level2", 2012, 9, 0),
    ("service_station_coverage_district", "sanyou_centers_provincial", 2012, 1, 0),
    ("service_station_coverage_district", "sanyou_centers_provincial", 2011, 0, 0),  # the district's first
    ("service_station_coverage_district", "sanyou_centers_district", 2012, 2, 0),
]


def served(run, sql, params=()):
    db = run["warehouse"] / "serving.duckdb"
    if not db.exists():
        db = run["warehouse"] / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_pfpw_run_succeeds(sample_run):
    assert sample_run["code"] == 0


@pytest.mark.parametrize(
    ("mart", "column", "year", "expected", "tolerance"), GOLDEN, ids=[f"{g[1]}-{g[2]}" for g in GOLDEN]
)
def test_golden_figure(sample_run, mart, column, year, expected, tolerance):
    rows = served(
        sample_run,
        f"select {column} from marts.{mart} where district_code = ? and year = ?",
        (DISTRICT, year),
    )
    assert len(rows) == 1, f"{mart} has no single district row for {year}"
    value = rows[0][0]
    assert value is not None, f"{mart}.{column} {year} is NULL"
    if isinstance(expected, int):
        assert value == expected, f"{mart}.{column} {year}: {value} != {expected}"
    else:
        shown = round_half_away(value, 2)
        assert abs(shown - Decimal(expected)) <= Decimal(str(tolerance)), (
            f"{mart}.{column} {year}: {shown} (unrounded {value}) is not {expected} ± {tolerance}"
        )


def test_sanyou_district_centres_are_at_xinqian_and_yuanqiao(sample_run):
    rows = served(
        sample_run,
        """select township_name from marts.service_station_coverage
                                 where year = 2012 and sanyou_centers_district > 0 order by 1""",
    )
    assert [r[0] for r in rows] == ["新前街道", "院桥镇"]


def test_marts_have_a_row_for_every_township_and_covered_year(sample_run):
    for mart in (
        "population_indicators",
        "fee_collection",
        "enforcement_outcomes",
        "service_station_coverage",
    ):
        rows = served(sample_run, f"select year, count(*) from marts.{mart} group by 1 order by 1")
        assert rows == [(2011, 19), (2012, 19)], mart
    assert served(sample_run, "select count(*) from marts.village_indicators where year = 2012")[0][0] == 569
    # 2011 has no previous December in the landing zone: its start stock and growth rate are NULL, not 0
    assert served(
        sample_run,
        """select population_start, natural_growth_rate_permille
                                 from marts.population_indicators_district where year = 2011""",
    ) == [(None, None)]
