"""Responsibility targets (issue 26): reference/targets.csv read like an extract, the target marts, the generator's
targets. A changed targets.csv rebuilding only what depends on it, night after night: test_targets_nights.py."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from dagster_project import state
from dagster_project.ingest.inventory import unknown_files
from dagster_project.ingest.targets import SOURCE_FILE, balance_problems, ingest_targets
from dagster_project.lake import Lake
from dagster_project.reference import load_reference
from dagster_project.schemas.contract import EXTRACTS
from dagster_project.synth.generator import Planner
from dagster_project.synth.targets import SHAPE, expected
from dagster_project.synth.writer import district_profile, generate
from tests import factories as f
from tests.conftest import TEST_KEY
from tests.factories import MOTHER
from tests.test_golden import served

HEADER = "year,area_code,indicator,bound,target,points\n"
MAX_BYTES = 1 << 20

# one good row, then every kind of row fault the contract names, each with the reason it must give
FAULTY = [
    ("2012,331003,births,max,6400,15", None),
    (f"2012,{f.T1},planned_birth_rate,min,94.5,20", None),
    ("2012,331003,births,max,6500,15", "(year, area_code, indicator) repeats an earlier row of this file"),
    ("12,331003,filing_rate,min,90,10", "year: is not a 4-digit year"),
    ("2012,331099,births,max,100,5", "area_code: is not a district of the reference data"),
    ("2012,331003999,births,max,100,5", "area_code: is not a township of the reference data"),
    ("2012,33100,births,max,100,5", "area_code: is not a 6-digit district code or a 9-digit township code"),
    (f"2012,{f.T1},fertility,max,100,5", "indicator: is not one of births, planned_birth_rate"),
    (f"2012,{f.T2},births,atmost,100,5", "bound: is not one of min, max"),
    (f"2012,{f.T2},filing_rate,min,nan,5", "target: is not a plain decimal number"),
    (f"2012,{f.T2},collection_rate,min,1e2,5", "target: is not a plain decimal number"),
    (f'2012,{f.T2},compliance_rate,min,"7,000",5', "target: is not a plain decimal number"),
    (f"2012,{f.T2},sex_ratio_at_birth,max,inf,5", "target: is not a plain decimal number"),
    (f"2011,{f.T2},births,max,100,0", "points: is not a positive whole number"),
    (f"2011,{f.T2},planned_birth_rate,min,90,1.5", "points: is not a positive whole number"),
    (f"2011,{f.T2},filing_rate,min,,5", "target: is blank"),
    (f"2011,{MOTHER},births,max,100,5", "area_code: holds an identity number (free text): not stored"),
]


def write_targets(sources: Path, lines: list[str]) -> Path:
    path = sources / "reference" / "targets.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------ reading targets.csv (no Dagster)


def test_every_kind_of_faulty_target_row_is_quarantined_with_its_reasons(small_zone, tmp_path):
    write_targets(small_zone, [line for line, _ in FAULTY])
    lake = Lake(tmp_path / "wh")
    reference = load_reference(small_zone)
    report = ingest_targets(small_zone, lake, reference, TEST_KEY, MAX_BYTES, run_id="night-1")
    loaded = pl.read_parquet(lake.targets_path())
    assert loaded.select("year", "area_code", "indicator", "target", "points").rows() == [
        (2012, "331003", "births", 6400.0, 15),
        (2012, f.T1, "planned_birth_rate", 94.5, 20),
    ]
    quarantined = pl.read_parquet(lake.targets_path("quarantine"))
    assert set(quarantined["extract"]) == {"targets"} and set(quarantined["source_file"]) == {SOURCE_FILE}
    reasons = dict(zip(quarantined["source_row"], quarantined["reasons"], strict=True))
    for line_no, (_line, reason) in enumerate(FAULTY, start=2):  # line 1 is the header
        if reason is None:
            assert line_no not in reasons
        else:
            assert any(r.startswith(reason) for r in reasons[line_no]), (line_no, reasons.get(line_no))
    # the first of a repeated (year, area, indicator) counts: 6400 loaded, 6500 quarantined
    assert json.loads(quarantined.filter(pl.col("source_row") == 4)["record"][0])["target"] == "6500"
    # an identity number typed into a field never reaches the quarantine in clear
    assert MOTHER not in "".join(quarantined["record"]) and "[identity number removed #" in "".join(
        quarantined["record"]
    )
    ledger = pl.read_parquet(lake.targets_path("ledger")).row(0, named=True)
    assert (
        ledger["source_file"] == SOURCE_FILE
        and ledger["extract"] == "targets"
        and ledger["status"] == "loaded"
    )
    assert (ledger["rows_read"], ledger["rows_loaded"], ledger["rows_quarantined"]) == (len(FAULTY), 2, 15)
    assert ledger["rows_read"] == ledger["rows_loaded"] + ledger["rows_quarantined"]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (17, 2, 15)
    assert balance_problems(lake) == []
    # consolidated with the extracts' ledger and quarantine (what dbt's audit models read)
    whole_ledger, whole_quarantine = lake.consolidate()
    assert whole_ledger.filter(pl.col("extract") == "targets").height == 1
    assert whole_quarantine.filter(pl.col("extract") == "targets").height == 15
    # unchanged: not read again, the ledger keeps its run; withdrawn: no ledger row, no targets
    again = ingest_targets(small_zone, lake, reference, TEST_KEY, MAX_BYTES, run_id="night-2")
    assert again.files_unchanged == 1 and again.files_ingested == 0
    assert pl.read_parquet(lake.targets_path("ledger"))["run_id"].to_list() == ["night-1"]
    (small_zone / "reference" / "targets.csv").unlink()
    gone = ingest_targets(small_zone, lake, reference, TEST_KEY, MAX_BYTES, run_id="night-3")
    assert gone.files_removed == 1 and not lake.targets_path("ledger").exists()
    assert pl.read_parquet(lake.targets_path()).height == 0 and not lake.targets_path("quarantine").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (HEADER.encode("gbk") + "2012,331003,births,max,6400,15\n# 备注\n".encode("gbk"), "wrong encoding"),
        (b"", "empty file"),
        (b"year,area_code,indicator,target,points\n2012,331003,births,6400,15\n", "missing column(s) bound"),
        ((HEADER.strip() + ",year\n").encode(), "column(s) named twice in the header: year"),
    ],
    ids=["gbk", "empty", "missing-column", "column-twice"],
)
def test_a_targets_file_that_cannot_be_read_is_rejected_with_the_reason(
    small_zone, tmp_path, content, reason
):
    (small_zone / "reference" / "targets.csv").write_bytes(content)
    lake = Lake(tmp_path / "wh")
    report = ingest_targets(small_zone, lake, load_reference(small_zone), TEST_KEY, MAX_BYTES)
    assert report.rejected and reason in report.rejected[0][1]
    ledger = pl.read_parquet(lake.targets_path("ledger")).row(0, named=True)
    assert ledger["status"] == "rejected" and reason in ledger["reason"]
    assert ledger["rows_read"] == ledger["rows_loaded"] + ledger["rows_quarantined"] == 0
    assert pl.read_parquet(lake.targets_path()).height == 0


def test_a_targets_link_is_listed_as_ignored_and_never_read(small_zone, tmp_path):
    outside = tmp_path / "outside"
    (outside / "reference").mkdir(parents=True)
    (small_zone / "reference" / "targets.csv").symlink_to(
        write_targets(outside, ["2012,331003,births,max,6400,15"])
    )
    lake = Lake(tmp_path / "wh")
    report = ingest_targets(small_zone, lake, load_reference(small_zone), TEST_KEY, MAX_BYTES)
    assert report.files_seen == 0 and pl.read_parquet(lake.targets_path()).height == 0
    assert [rel for rel, _reason in unknown_files(small_zone)] == ["reference/targets.csv"]


def test_targets_csv_is_a_landing_zone_part_of_its_own_and_a_night_on_it_ingests_no_extract(small_zone):
    """A changed targets.csv changes the landing zone's `targets` part only: not `reference` (which would rebuild
    everything); the night it plans reads the targets and rebuilds what depends on them, no extract."""
    import dagster as dg

    from dagster_project.definitions import defs
    from dagster_project.defs.automation.jobs import incremental_selection

    assert unknown_files(small_zone) == []  # a targets.csv (or none) is not an unknown file
    before, _ = state.landing_parts(small_zone)
    write_targets(small_zone, ["2012,331003,births,max,6400,15"])
    assert unknown_files(small_zone) == []
    after, _ = state.landing_parts(small_zone)
    assert {k for k in set(before) | set(after) if before.get(k) != after.get(k)} == {"targets"}
    selection = {k.to_user_string() for k in incremental_selection({"targets"}, defs)}
    assert {
        "reference/targets",
        "marts/target_attainment",
        "marts/target_scorecard",
        "lake/ingest_ledger",
    } <= selection
    assert "lake/quarantine" in selection and "serving/serving_database" in selection
    assert not {f"lake/{spec.name}" for spec in EXTRACTS} & selection  # no extract is ingested again
    assert not {"marts/population_indicators", "marts/fee_collection_monthly"} & selection
    graph = defs.resolve_asset_graph()
    assert (
        dg.AssetKey(["reference", "targets"]) in graph.get(dg.AssetKey(["lake", "ingest_ledger"])).parent_keys
    )


# ------------------------------------------------------------------ the generator


def test_the_generator_draws_targets_from_its_plan_so_that_some_are_met_and_some_missed(tmp_path):
    out = tmp_path / "zone"
    done = generate(out, seed=5, districts=2, years=2, start_year=2020, workers=1)
    with (out / "reference" / "targets.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    districts = {d.code for d in done.districts}
    assert {r["area_code"] for r in rows if len(r["area_code"]) == 6} == districts
    assert len({code[:4] for code in districts}) == 1  # districts of one city
    townships = {t[0] for d in done.districts for t in d.townships}
    assert {r["area_code"] for r in rows if len(r["area_code"]) == 9} == townships
    assert {r["year"] for r in rows} == {"2020", "2021"}
    # against the plan's own figures: the first district's targets all on the safe side, with a margin;
    # the townships' on either side, so that some are met and some missed
    easier, harder = 0, 0
    for d in done.districts[:1]:
        planner = Planner(d.code, d.index, 5, district_profile(5, d.index, (2020, 2021), True))
        figures = expected(planner, planner.plan())
        for r in rows:
            if (
                r["area_code"][:6] != d.code
                or r["indicator"] == "sex_ratio_at_birth"
                and len(r["area_code"]) == 9
            ):
                continue
            figure, target = figures[(r["area_code"], int(r["year"]))][r["indicator"]], float(r["target"])
            safe = target < figure if SHAPE[r["indicator"]][0] == "min" else target > figure
            if len(r["area_code"]) == 6:
                assert safe and abs(target - figure) >= 0.3, r
            else:
                easier, harder = easier + safe, harder + (not safe)
    assert easier > 20 and harder > 5, (easier, harder)


# ------------------------------------------------------------------ the sample run


@pytest.mark.xdist_group("sample_run")
def test_the_district_met_every_target_the_city_set_for_2012_and_ranks_first(sample_run):
    assert sample_run["code"] == 0
    card = served(
        sample_run,
        "select targets_total, targets_met, points_possible, points_earned, score, rank, peers "
        "from marts.target_scorecard where area_code = '331003' and year = 2012 and month = 12",
    )
    assert card == [(9, 9, 100, 100, 100.0, 1, 1)]
    # the actual of each target is the year's figure (December's year to date), never the target itself
    rows = served(
        sample_run,
        "select a.indicator, a.bound, a.target, a.actual, a.met, a.rank, a.peers, "
        "case a.indicator when 'births' then y.births::double when 'planned_birth_rate' then y.planned_birth_rate "
        "when 'sex_ratio_at_birth' then y.sex_ratio_at_birth "
        "when 'natural_growth_rate_permille' then y.natural_growth_rate_permille "
        "when 'registration_coverage' then y.registration_coverage "
        "when 'prepregnancy_checks' then y.prepregnancy_checks::double when 'filing_rate' then f.filing_rate "
        "when 'collection_rate' then f.collection_rate when 'compliance_rate' then f.compliance_rate end "
        "from marts.target_attainment a "
        "join marts.population_indicators_district y on y.year = a.year and y.district_code = a.area_code "
        "join marts.fee_collection_district f on f.year = a.year and f.district_code = a.area_code "
        "where a.area_code = '331003' and a.year = 2012 and a.month = 12",
    )
    assert len(rows) == 9
    for indicator, bound, target, actual, met, rank, peers, yearly in rows:
        assert actual == yearly and met and (rank, peers) == (1, 1), indicator
        assert abs(actual - target) >= 0.3, (indicator, bound, target, actual)  # a plausible margin
    assert {r[0] for r in rows} == set(SHAPE)


@pytest.mark.xdist_group("sample_run")
def test_some_townships_miss_some_of_their_targets_and_are_ranked_within_the_district(sample_run):
    cards = served(
        sample_run,
        "select area_code, targets_total, targets_met, score, rank, peers from marts.target_scorecard "
        "where area_level = 'township' and year = 2012 and month = 12 order by rank, area_code",
    )
    assert len(cards) == 19 and {c[5] for c in cards} == {19}
    assert any(c[2] < c[1] for c in cards) and any(c[2] == c[1] for c in cards)
    scores = [c[3] for c in cards]
    assert scores == sorted(scores, reverse=True) and cards[0][4] == 1
    # every covered month of both years is assessed: 24 months × the 217 targets of the sample
    assert served(
        sample_run, "select count(*), count(distinct year * 100 + month) from marts.target_attainment"
    ) == [(217 * 12, 24)]
    ledger = served(
        sample_run,
        "select rows_read, rows_loaded, rows_quarantined, status from audit.ingest_ledger "
        f"where source_file = '{SOURCE_FILE}'",
    )
    assert ledger == [(217, 217, 0, "loaded")]


@pytest.mark.xdist_group("sample_run")
def test_the_target_marts_unit_tests_ranked_ties_1_2_2_4_in_the_sample_build(sample_run):
    """dbt's unit tests of the target marts (dbt/models/marts/_marts_targets__models.yml) ran in the sample's full
    build and passed: equal actuals share a place (1, 2, 2, 4), a NULL actual is unranked but counted in peers."""
    results = json.loads(
        (sample_run["warehouse"] / "dbt_target" / "run_results.json").read_text(encoding="utf-8")
    )
    status = {r["unique_id"]: r["status"] for r in results["results"]}
    assert (
        status["unit_test.pfpw.target_attainment.target_ranks_share_places_and_null_actuals_are_unranked"]
        == "pass"
    )
    assert (
        status["unit_test.pfpw.target_scorecard.scorecard_ranks_townships_by_score_within_their_district"]
        == "pass"
    )
