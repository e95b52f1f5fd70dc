"""Responsibility targets (issue 26) night after night on one warehouse (slow: four runs): a landing zone without
targets.csv, then one delivered (good and faulty rows), nothing new, one target changed; a changed targets.csv
rebuilds only what depends on it. targets.csv read like an extract and the target marts: test_targets.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.targets import SOURCE_FILE
from dagster_project.settings import PROJECT_DIR
from tests.conftest import SAMPLE, TEST_KEY
from tests.test_targets import write_targets


def pfpw(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", "run"],
        env={**os.environ, **env},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )


def run_id(result: subprocess.CompletedProcess) -> str:
    return re.search(r"pfpw run ([0-9a-f-]{36}): SUCCESS", result.stdout).group(1)


def snapshot(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    try:
        return {
            "ledger": con.sql(
                "select source_file, extract, run_id, rows_read, rows_loaded, rows_quarantined, status "
                "from audit.ingest_ledger where status <> 'ignored' order by 1, 2"
            ).fetchall(),
            "attainment": con.sql(
                "select year, month, area_code, indicator, target, actual, met from marts.target_attainment "
                "order by 1, 2, 3, 4"
            ).fetchall(),
            "scorecards": con.sql("select count(*) from marts.target_scorecard").fetchone()[0],
            "births": con.sql("select sum(births) from marts.population_indicators").fetchone()[0],
            "summary": con.sql(
                "select source_file, reason, rows_quarantined from audit.quarantine_summary where extract = 'targets'"
            ).fetchall(),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def targets_nights(tmp_path_factory):
    """A small landing zone without targets.csv run cold; then with one (good and faulty rows); then nothing new;
    then with one target changed. One warehouse and Dagster instance throughout."""
    from tests.nightly import small_zone

    base = tmp_path_factory.mktemp("targets")
    sources = small_zone(base / "sources")
    warehouse = base / "warehouse"
    (base / "home").mkdir()
    env = {
        "DAGSTER_HOME": str(base / "home"),
        "PFPW_PII_KEY": TEST_KEY.decode(),
        "PFPW_SOURCES_DIR": str(sources),
        "PFPW_WAREHOUSE_DIR": str(warehouse),
    }
    runs, seen = {}, {}
    runs["without"] = pfpw(env)
    seen["without"] = snapshot(warehouse)
    townships = (sources / "reference" / "townships.csv").read_text(encoding="utf-8")
    towns = [line.split(",")[0] for line in townships.splitlines()[1:]]
    sample = (SAMPLE / "reference" / "targets.csv").read_text(encoding="utf-8").splitlines()[1:]
    good = [line for line in sample if line.split(",")[1] in {"331003", *towns}]
    write_targets(sources, [*good, "2012,331003,births,max,1,15", "2012,331099,births,max,100,5"])
    runs["targets"] = pfpw(env)
    seen["targets"] = snapshot(warehouse)
    runs["nothing new"] = pfpw(env)
    # the first township's 2012 births target raised (a digit 1 put before it): met where it may have been missed
    mine = f"2012,{towns[0]},births,max,"
    changed = [line.replace(mine, mine + "1") for line in good]
    write_targets(sources, [*changed, "2012,331003,births,max,1,15", "2012,331099,births,max,100,5"])
    runs["changed"] = pfpw(env)
    seen["changed"] = snapshot(warehouse)
    return {"runs": runs, "seen": seen, "good": good, "towns": towns}


@pytest.mark.xdist_group("targets_nights")
def test_a_landing_zone_without_targets_builds_everything_else_with_empty_target_marts(targets_nights):
    cold = targets_nights["runs"]["without"]
    assert cold.returncode == 0, cold.stdout + cold.stderr
    seen = targets_nights["seen"]["without"]
    assert seen["births"] > 0 and seen["attainment"] == [] and seen["scorecards"] == 0
    assert not [row for row in seen["ledger"] if row[0] == SOURCE_FILE]


@pytest.mark.xdist_group("targets_nights")
def test_a_new_targets_csv_is_read_alone_its_faulty_rows_quarantined_and_the_target_marts_built(
    targets_nights,
):
    runs, seen = targets_nights["runs"], targets_nights["seen"]
    night = runs["targets"]
    assert night.returncode == 0, night.stdout + night.stderr
    assert "incremental: rebuilt what depends on targets" in night.stdout
    stages = [line.split()[:2] for line in night.stdout.splitlines() if line.startswith("  ingest")]
    assert stages == [["ingest", "targets"]], night.stdout
    # nothing else was ingested again: every other file keeps the ledger row of the cold run
    cold_id, night_id = run_id(runs["without"]), run_id(night)
    others = [row for row in seen["targets"]["ledger"] if row[0] != SOURCE_FILE]
    assert others == seen["without"]["ledger"] and {row[2] for row in others} == {cold_id}
    [targets] = [row for row in seen["targets"]["ledger"] if row[0] == SOURCE_FILE]
    good = len(targets_nights["good"])
    assert targets == (SOURCE_FILE, "targets", night_id, good + 2, good, 2, "loaded")
    assert sorted(seen["targets"]["summary"]) == [
        (
            SOURCE_FILE,
            "(year, area_code, indicator) repeats an earlier row of this file: the first row counts",
            1,
        ),
        (SOURCE_FILE, "area_code: is not a district of the reference data (of none of its townships)", 1),
    ]
    assert len(seen["targets"]["attainment"]) == good * 12  # two covered years: each target × 12 months
    assert seen["targets"]["births"] == seen["without"]["births"]


@pytest.mark.xdist_group("targets_nights")
def test_a_changed_target_rebuilds_the_target_marts_and_nothing_new_skips_them(targets_nights):
    runs, seen, towns = targets_nights["runs"], targets_nights["seen"], targets_nights["towns"]
    quiet = runs["nothing new"]
    assert quiet.returncode == 0 and "nothing new since publication" in quiet.stdout, quiet.stdout
    assert not [line for line in quiet.stdout.splitlines() if line.strip().startswith(("ingest", "dbt"))]
    night = runs["changed"]
    assert night.returncode == 0, night.stdout + night.stderr
    assert "incremental: rebuilt what depends on targets" in night.stdout
    before = {(r[0], r[1], r[2], r[3]): r[4:] for r in seen["targets"]["attainment"]}
    after = {(r[0], r[1], r[2], r[3]): r[4:] for r in seen["changed"]["attainment"]}
    differ = {k for k in before if before[k] != after[k]}
    assert differ and {(k[0], k[2], k[3]) for k in differ} == {(2012, towns[0], "births")}
    assert all(after[k][0] > before[k][0] and after[k][2] for k in differ)  # a higher maximum, met
    others = [row for row in seen["changed"]["ledger"] if row[0] != SOURCE_FILE]
    assert {row[2] for row in others} == {run_id(runs["without"])}
