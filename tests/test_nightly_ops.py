"""Nightly operations: keys per file, withdrawn months, late months, the PII key, what a run prints."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dagster_project.lake import Lake
from dagster_project.settings import PROJECT_DIR
from tests import factories as f
from tests.conftest import TEST_KEY, ingest_all
from tests.processes import dbt, pfpw_command
from tests.test_ingest_faults import lake_rows

M = "2012-03"


def _two_hospitals(src: Path) -> None:
    ref = src / "reference" / "hospitals.csv"
    ref.write_text(ref.read_text(encoding="utf-8") + f"H02,区中医院,{f.T1}\n", encoding="utf-8")


def quarantined(wh: Path, extract: str) -> pl.DataFrame:
    return Lake(wh).quarantine().filter(pl.col("extract") == extract)


def test_the_same_key_in_two_files_is_supersession_not_a_duplicate(small_zone, tmp_path):
    """Two hospitals' files of one month share a certificate number: both rows load, whatever the batching."""
    _two_hospitals(small_zone)
    wh = tmp_path / "wh"
    shared = "P011200001"
    f.write_hospital_births(
        small_zone / "hospital" / M / "H01_births.csv",
        [
            f.hospital_row(shared),
            f.hospital_row("P011200002"),
            f.hospital_row("P011200002"),
        ],  # a repeat in-file
    )
    h02 = small_zone / "hospital" / M / "H02_births.csv"
    f.write_hospital_births(h02, [f.hospital_row(shared, hospital="H02")])

    cold = ingest_all(small_zone, wh)
    assert (cold.rows_read, cold.rows_loaded, cold.rows_quarantined) == (4, 3, 1)
    q = quarantined(wh, "hospital_births")
    assert q["source_file"].to_list() == [f"hospital/{M}/H01_births.csv"]  # only the in-file repeat
    assert "repeats an earlier row of this file" in q["reasons"].to_list()[0][0]
    assert sorted(lake_rows(wh, "hospital_births")["birth_certificate_no"]) == [shared, shared, "P011200002"]

    # H02 re-delivers its file alone (a corrected weight): the outcome is the cold run's
    f.write_hospital_births(h02, [f.hospital_row(shared, hospital="H02", weight=3300)])
    again = ingest_all(small_zone, wh)
    assert (again.files_ingested, again.rows_loaded, again.rows_quarantined) == (1, 1, 0)
    assert sorted(lake_rows(wh, "hospital_births")["birth_certificate_no"]) == [shared, shared, "P011200002"]
    assert quarantined(wh, "hospital_births").height == 1

    # dbt resolves the shared key by the contract's rule: the later file name is current
    result = dbt(
        wh,
        "run",
        "--select",
        "+superseded_rows",
        "stg_hospital__births",
        "--target-path",
        str(tmp_path / "dbt_target"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True)
    rows = con.sql(
        "select source_file, superseded_by_file from audit.superseded_rows where extract = 'hospital_births'"
    ).fetchall()
    current = con.sql(
        "select source_file, birth_weight_g from staging.stg_hospital__births where birth_certificate_no = ?",
        params=[shared],
    ).fetchall()
    con.close()
    assert rows == [(f"hospital/{M}/H01_births.csv", f"hospital/{M}/H02_births.csv")]
    assert current == [(f"hospital/{M}/H02_births.csv", 3300)]


def test_a_withdrawn_month_folder_leaves_the_lake(small_zone, tmp_path):
    wh = tmp_path / "wh"
    for month in ("2012-03", "2012-04"):
        f.write_finance(
            small_zone / "finance" / month / "fee_payments.csv",
            f.PAYMENT_HEADER,
            [[f"R{month}", "D1", f"{month}-02", "100.00", "现金"]],
        )
    ingest_all(small_zone, wh)
    assert lake_rows(wh, "finance_fee_payments").height == 2
    shutil.rmtree(small_zone / "finance" / "2012-03")
    report = ingest_all(small_zone, wh)
    assert report.files_removed == 1
    assert lake_rows(wh, "finance_fee_payments")["receipt_no"].to_list() == ["R2012-04"]
    shutil.rmtree(small_zone / "finance")  # the whole agency folder
    ingest_all(small_zone, wh)
    assert lake_rows(wh, "finance_fee_payments").height == 0


def test_months_arriving_in_any_order_are_all_ingested(small_zone, tmp_path):
    """The bug of a partition range: months known later but earlier in time were skipped."""
    wh = tmp_path / "wh"

    def deliver(month: str) -> None:
        f.write_finance(
            small_zone / "finance" / month / "fee_payments.csv",
            f.PAYMENT_HEADER,
            [[f"R{month}", "D1", f"{month}-02", "100.00", "现金"]],
        )

    for month in ("2012-04", "2012-05", "2012-12"):
        deliver(month)
    ingest_all(small_zone, wh)
    for month in ("2012-01", "2012-08", "2013-01"):  # before, between and after the known months
        deliver(month)
        ingest_all(small_zone, wh)
    assert sorted(lake_rows(wh, "finance_fee_payments")["reporting_month"]) == [
        "2012-01",
        "2012-04",
        "2012-05",
        "2012-08",
        "2012-12",
        "2013-01",
    ]


# ------------------------------------------------------------------ pfpw run as a user runs it


def pfpw(*args: str, env: dict | None = None, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize("value", [None, "", "   "])
def test_pfpw_run_refuses_to_start_without_a_pii_key(small_zone, tmp_path, value):
    env = {k: v for k, v in os.environ.items() if k != "PFPW_PII_KEY"}
    if value is not None:
        env["PFPW_PII_KEY"] = value
    result = subprocess.run(
        pfpw_command(small_zone, tmp_path),
        env={**env, "DAGSTER_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "PFPW_PII_KEY" in result.stderr
    assert not (tmp_path / "lake").exists()  # nothing was written


def test_the_makefile_passes_the_sample_key_explicitly():
    make = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    assert "export PFPW_PII_KEY ?= $(SAMPLE_PII_KEY)" in make
    from dagster_project import settings

    assert f"SAMPLE_PII_KEY := {settings.SAMPLE_PII_KEY}" in make


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A small landing zone run cold, then again with nothing new, then with one corrected file, then re-keyed."""
    from tests.nightly import small_zone

    base = tmp_path_factory.mktemp("ops")
    sources = small_zone(base / "sources")
    env = {
        "DAGSTER_HOME": str(base / "home"),
        "PFPW_PII_KEY": TEST_KEY.decode(),
        "PFPW_SOURCES_DIR": str(sources),
        "PFPW_WAREHOUSE_DIR": str(base / "warehouse"),
    }
    (base / "home").mkdir()
    runs = {"cold": pfpw("run", env=env)}
    audits = {"cold": audit_results(base / "warehouse")}
    unit_tests = {"cold": dbt_unit_tests(base / "warehouse")}
    runs["nothing new"] = pfpw("run", env=env)
    payments = sources / "finance" / M / "fee_payments.csv"
    payments.write_bytes(payments.read_bytes() + "JKX1,D-unknown,2012-03-05,12.00,现金\r\n".encode())
    runs["corrected"] = pfpw("run", env=env)
    audits["corrected"] = audit_results(base / "warehouse")
    parsing = last_dbt_parsing(base / "warehouse")
    unit_tests["corrected"] = dbt_unit_tests(base / "warehouse")
    runs["re-keyed"] = pfpw("run", env={**env, "PFPW_PII_KEY": "another-key"})
    return {
        "runs": runs,
        "env": env,
        "base": base,
        "sources": sources,
        "audits": audits,
        "parsing": parsing,
        "unit_tests": unit_tests,
    }


def dbt_unit_tests(warehouse: Path) -> list[str]:
    """The dbt unit tests of the last dbt invocation in the warehouse, with their status."""
    results = json.loads((warehouse / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))
    return [
        f"{r['unique_id']} {r['status']}"
        for r in results["results"]
        if r["unique_id"].startswith("unit_test.")
    ]


def last_dbt_parsing(warehouse: Path) -> list[str]:
    """What dbt's last invocation in the warehouse said of its parsing (its JSON log, rotated part first; info
    level: a project it cannot parse partially says why), after the line that starts the invocation."""
    messages: list[str] = []
    for log in (warehouse / "dbt_target" / "dbt.log.1", warehouse / "dbt_target" / "dbt.log"):
        if not log.exists():
            continue
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                message = json.loads(line)["info"]["msg"]
            except (ValueError, KeyError):
                continue
            if message.startswith("Running with dbt"):
                messages = [message]
            elif "pars" in message.lower():
                messages.append(message)
    return messages


def audit_results(warehouse: Path) -> dict[tuple[str, str], str]:
    """(asset, check) -> the run that evaluated it, from the served file."""
    con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    try:
        rows = con.sql("select asset, check_name, run_id from audit.audit_results where passed").fetchall()
    finally:
        con.close()
    return {(a, c): r for a, c, r in rows}


def stage_line(stdout: str, stage: str) -> str | None:
    return next((line for line in stdout.splitlines() if line.strip().startswith(stage)), None)


@pytest.mark.xdist_group("small_run")
def test_pfpw_leaves_the_instance_closed(small_run):
    """Each `pfpw run` disposes its instance: the event log's databases are closed, no WAL journal left behind."""
    runs = Path(small_run["env"]["DAGSTER_HOME"]) / "history" / "runs"
    assert len(list(runs.glob("*-*.db"))) >= len(small_run["runs"])  # one file per run, besides index.db
    assert not list(runs.glob("*.db-wal")), sorted(p.name for p in runs.iterdir())


@pytest.mark.xdist_group("small_run")
def test_a_corrected_file_rebuilds_only_what_depends_on_it(small_run):
    """One finance file corrected after a publication: finance is ingested, its marts rebuilt and audited."""
    cold, corrected = small_run["runs"]["cold"], small_run["runs"]["corrected"]
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    assert "incremental: rebuilt what depends on finance" in corrected.stdout
    assert "incremental" not in cold.stdout
    assert stage_line(corrected.stdout, "ingest township") is None  # not visited
    models = lambda out: int(re.search(r"dbt\s+[\d.]+s\s+(\d+) models built", out).group(1))  # noqa: E731
    assert 0 < models(corrected.stdout) < models(cold.stdout)
    suites = lambda out: int(re.search(r"audits\s+[\d.]+s\s+(\d+) GX suites", out).group(1))  # noqa: E731
    assert 0 < suites(corrected.stdout) < suites(cold.stdout)
    # the served audit results still cover every check: those not run tonight carry the run that ran them
    cold_ids, now = small_run["audits"]["cold"], small_run["audits"]["corrected"]
    assert set(now) == set(cold_ids)
    corrected_id = re.search(r"pfpw run ([0-9a-f-]{36}): SUCCESS", corrected.stdout).group(1)
    assert now[("marts/fee_collection", "gx_expectations")] == corrected_id
    assert (
        now[("marts/population_indicators", "gx_expectations")]
        == cold_ids[("marts/population_indicators", "gx_expectations")]
    )
    # the ledger balances read the months the night rewrote (one), where the cold run read them all
    import dagster as dg

    check = dg.AssetCheckKey(dg.AssetKey(["lake", "finance_fee_payments"]), "ledger_balances")
    with dg.DagsterInstance.from_config(small_run["env"]["DAGSTER_HOME"]) as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
    evaluated = {
        r.run_id: r.event.dagster_event.event_specific_data
        for r in history
        if r.event and r.event.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    cold_id = re.search(r"pfpw run ([0-9a-f-]{36}): SUCCESS", cold.stdout).group(1)
    assert evaluated[corrected_id].passed and evaluated[corrected_id].metadata["months_checked"].value == 1
    assert evaluated[cold_id].metadata["months_checked"].value == "all"
    # the night's months reach dbt outside its vars: the project is not parsed again (partial parsing)
    assert small_run["parsing"], "no dbt log of the corrected night"
    assert not [m for m in small_run["parsing"] if "Unable to do partial parsing" in m], small_run["parsing"]
    # dbt's unit tests ran in the cold (full) build, all passed; the night (same code) left them out
    cold_units = small_run["unit_tests"]["cold"]
    assert len(cold_units) >= 8 and all(u.endswith(" pass") for u in cold_units), cold_units
    assert any("unit_test.pfpw.fee_collection." in u for u in cold_units), cold_units
    assert small_run["unit_tests"]["corrected"] == [], small_run["unit_tests"]["corrected"]


@pytest.mark.xdist_group("small_run")
def test_a_successful_run_prints_a_line_per_stage_and_little_else(small_run):
    cold = small_run["runs"]["cold"]
    assert cold.returncode == 0, cold.stdout + cold.stderr
    lines = cold.stdout.splitlines()
    assert len(lines) <= 40, cold.stdout
    for stage in ("state", "inventory", "reference", "ingest township", "ingest hospital", "ingest court"):
        assert any(line.strip().startswith(stage) for line in lines), stage
    for stage in ("ingest finance", "ledger", "dbt", "audits", "publish"):
        assert any(line.strip().startswith(stage) for line in lines), stage
    # an agency's line is printed when its files are in, with their figures (not when another stage's check
    # runs between its steps: the targets' ledger check once printed "0 files ... 0 rows" for every agency)
    for agency in ("township", "hospital", "court", "finance"):
        figures = re.search(
            r"(\d+) files \(.*?\); ([\d,]+) rows read", stage_line(cold.stdout, f"ingest {agency}")
        )
        assert figures and int(figures.group(1)) > 0 and figures.group(2) != "0", stage_line(
            cold.stdout, agency
        )
    assert "SUCCESS" in cold.stdout and "DEBUG" not in cold.stdout and "STEP_" not in cold.stdout
    # the night's summary first, then the report's own run after the publication, with its stage line
    night = next(i for i, line in enumerate(lines) if re.match(r"pfpw run [0-9a-f-]{36}: SUCCESS", line))
    report = next(i for i, line in enumerate(lines) if re.match(r"report run [0-9a-f-]{36}: SUCCESS", line))
    assert night < report and stage_line("\n".join(lines[night:report]), "report"), cold.stdout
    assert stage_line("\n".join(lines[:night]), "report") is None, cold.stdout
    assert "Running with dbt" not in cold.stdout  # dbt's own log goes to the run's log file
    logs = list((small_run["base"] / "warehouse" / "logs").glob("*.log"))
    assert any("Running with dbt" in p.read_text(encoding="utf-8") for p in logs)


@pytest.mark.xdist_group("small_run")
def test_nothing_new_publishes_nothing_and_says_since_when(small_run):
    cold, quiet = small_run["runs"]["cold"], small_run["runs"]["nothing new"]
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    first_id = re.search(r"pfpw run ([0-9a-f-]{36}): SUCCESS", cold.stdout).group(1)
    assert f"nothing new since publication {first_id}" in quiet.stdout
    assert "report run" not in quiet.stdout  # the report of that publication is already there
    assert "dbt" not in [line.split()[0] for line in quiet.stdout.splitlines() if line.startswith("  ")]
    # the run is recorded in the instance, like every other
    import dagster as dg

    with dg.DagsterInstance.from_config(small_run["env"]["DAGSTER_HOME"]) as instance:
        records = instance.get_run_records(dg.RunsFilter(tags={"pfpw/nothing_new_since": first_id}))
    assert len(records) == 1 and records[0].dagster_run.is_success


@pytest.mark.xdist_group("small_run")
def test_a_corrected_file_is_read_alone_and_a_new_key_is_announced(small_run):
    corrected, rekeyed = small_run["runs"]["corrected"], small_run["runs"]["re-keyed"]
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    finance = next(
        line for line in corrected.stdout.splitlines() if line.strip().startswith("ingest finance")
    )
    assert "(1 read, 47 unchanged)" in finance
    assert "re-keying" not in corrected.stdout
    assert rekeyed.returncode == 0, rekeyed.stdout + rekeyed.stderr
    files = len([p for p in small_run["sources"].rglob("*") if p.is_file() and "reference" not in p.parts])
    assert f"re-keying: {files} files re-ingested" in rekeyed.stdout


def test_a_failed_step_prints_its_root_cause_and_the_run_id(small_zone, tmp_path):
    """A reference table that cannot be read fails the run: the message is the cause, not Dagster's wrapper."""
    (small_zone / "reference" / "villages.csv").write_bytes("村".encode("gbk") * 3)
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "PFPW_PII_KEY": TEST_KEY.decode()}
    (tmp_path / "home").mkdir()
    result = pfpw("run", "--sources", str(small_zone), "--warehouse", str(tmp_path / "wh"), env=env)
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    error = next(line for line in result.stdout.splitlines() if "ERROR in" in line)
    assert "DagsterExecutionStepExecutionError" not in error and "Error occurred while executing" not in error
    run_id = re.search(r"pfpw run ([0-9a-f-]{36}): FAILED", result.stdout).group(1)
    assert f"http://127.0.0.1:3000/runs/{run_id}" in result.stdout
