"""Township rows add up to the district rows; district rates are recomputed from sums; audits list links."""

import math

import duckdb
import pytest

from tests.test_golden import served

pytestmark = pytest.mark.xdist_group("sample_run")

ADDITIVE = {
    "population_indicators": [
        "births",
        "births_unplanned",
        "boys",
        "girls",
        "deaths",
        "population_start",
        "population_end",
        "villages_total",
        "villages_with_unplanned",
        "hospital_births",
        "hospital_births_registered",
        "birth_defects",
        "prepregnancy_checks",
    ],
    "fee_collection": ["cases_due", "cases_filed", "cases_compliant", "amount_assessed", "amount_collected"],
    "enforcement_outcomes": [
        "court_applications",
        "court_rejections",
        "deposits_frozen_amount",
        "deposits_transferred_amount",
        "deposits_amount",
        "judicial_detentions",
        "liangfei_cases",
        "liangfei_dens_destroyed",
        "liangfei_admin_fines",
        "liangfei_permits_cancelled",
        "liangfei_criminal_detentions",
        "liangfei_sentenced",
    ],
    "service_station_coverage": [
        "stations_central",
        "stations_level1",
        "stations_level2",
        "stations_total",
        "stations_standardized",
        "sanyou_centers_provincial",
        "sanyou_centers_district",
        "women_childbearing_age",
    ],
}


@pytest.mark.parametrize("mart", sorted(ADDITIVE))
def test_townships_sum_to_the_district(sample_run, mart):
    cols = ADDITIVE[mart]
    sums = ", ".join(f"sum({c})" for c in cols)
    town = served(
        sample_run, f"select year, district_code, {sums} from marts.{mart} group by 1, 2 order by 1, 2"
    )
    dist = served(
        sample_run, f"select year, district_code, {', '.join(cols)} from marts.{mart}_district order by 1, 2"
    )
    assert town == dist


# each district mart's rates, as computed from its own sums
RATES = {
    "population_indicators_district": {
        "planned_birth_rate": "100.0 * (births - births_unplanned) / births",
        "sex_ratio_at_birth": "100.0 * boys / girls",
        "registration_coverage": "100.0 * hospital_births_registered / hospital_births",
        "birth_defect_rate_permille": "1000.0 * birth_defects / hospital_births",
    },
    "fee_collection_district": {
        "filing_rate": "100.0 * cases_filed / cases_due",
        "compliance_rate": "100.0 * cases_compliant / cases_due",
        "collection_rate": "100.0 * amount_collected::double / amount_assessed::double",
    },
    "service_station_coverage_district": {
        "township_coverage": "100.0 * townships_with_station / townships_total",
    },
}


@pytest.mark.parametrize(
    ("mart", "rate", "formula"),
    [
        pytest.param(mart, rate, formula, id=rate)
        for mart, rates in RATES.items()
        for rate, formula in rates.items()
    ],
)
def test_district_rates_are_recomputed_from_sums(sample_run, mart, rate, formula):
    rows = served(sample_run, f"select {rate}, {formula} from marts.{mart}")
    assert rows
    for value, recomputed in rows:
        assert math.isclose(value, recomputed, rel_tol=1e-12), (rate, value, recomputed)


def test_the_district_rate_is_not_the_average_of_township_rates(sample_run):
    value, averaged = served(
        sample_run,
        """
        select d.planned_birth_rate, (select avg(planned_birth_rate) from marts.population_indicators t
                                      where t.year = d.year)
        from marts.population_indicators_district d where d.year = 2012""",
    )[0]
    assert not math.isclose(value, averaged, rel_tol=1e-9)


def team(sample_run, sql: str) -> list[tuple]:
    """The data team's audit file (person-level audit tables)."""
    con = duckdb.connect(str(sample_run["warehouse"] / "data_team.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_unmatched_links_are_listed_not_dropped(sample_run):
    links = dict(team(sample_run, "select link, count(*) from audit.unmatched_links group by 1"))
    by_file = dict(
        served(sample_run, "select link, sum(records)::int from audit.unmatched_links_by_file group by 1")
    )
    assert by_file == links  # BI sees the counts, the data team the records
    assert links["payment → decision"] == 3  # payments to decisions issued before the landing zone
    assert links["decision → birth registration"] == 4
    assert (
        links["enforcement case → decision"] > 300
    )  # applications for decisions older than the landing zone
    superseded = team(sample_run, "select extract, count(*) from audit.superseded_rows group by 1")
    assert dict(superseded) == {"court_enforcement_cases": 3}
    outside = team(
        sample_run, "select count(*) from audit.out_of_district_rows where extract = 'hospital_births'"
    )
    assert outside[0][0] == 28


def test_working_database_is_a_real_duckdb_with_the_layers(sample_run):
    con = duckdb.connect(str(sample_run["warehouse"] / "warehouse.duckdb"), read_only=True)
    schemas = {
        r[0] for r in con.sql("select distinct table_schema from information_schema.tables").fetchall()
    }
    con.close()
    assert {"staging", "intermediate", "marts", "audit"} <= schemas
