"""The sensor under a real ``dagster-daemon``: a corrected file is picked up, run and published.

A year of the sample (the marts cover complete years) is published once with ``pfpw run``;
then the daemon runs with the sensor switched on (every 5 seconds). Its first tick finds the
content equal to the publication's and skips; a payment appended to a finance file makes the
next tick request the nightly job, which the queued run coordinator launches, and which
re-ingests that file and publishes a serving.duckdb that counts the new payment; the report sensor then
launches the report's own run, which builds the page of that publication.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.dagster_private import InstigatorType, TickStatus
from dagster_project.settings import PROJECT_DIR
from tests.conftest import SAMPLE, TEST_KEY
from tests.processes import TERMINATE_THEN_KILL, start, stop_group, wait_until

pytestmark = pytest.mark.xdist_group("daemon")

BIN = PROJECT_DIR / ".venv" / "bin"
YEAR = "2012"  # twelve month folders: a covered year, so the marts have rows and the audits pass
CORRECTED = "finance/2012-06/fee_payments.csv"
NEW_PAYMENT = (
    "JK331003009999,台黄计征〔2012〕0212号,2012-06-28,100.00,现金\r\n"  # on an existing 2012 decision
)
SENSOR = "landing_zone_sensor"
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def snapshot_code(dest: Path) -> Path:
    """The code the state digest covers, copied: edits to the working tree during the test change nothing.

    ``pfpw run``, the daemon, its code server and the run workers all import this copy
    (PYTHONPATH, working directory), so the publication and the sensor's ticks see one code digest.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PROJECT_DIR / "dagster_project", dest / "dagster_project", ignore=ignore)
    for name in ("workspace.yaml", "uv.lock"):
        if (PROJECT_DIR / name).exists():
            shutil.copy2(PROJECT_DIR / name, dest / name)
    dbt = PROJECT_DIR / "dbt"
    (dest / "dbt" / "target").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy2(dbt / name, dest / "dbt" / name)
    for sub in ("models", "macros", "tests", "seeds", "snapshots", "analyses"):
        if (dbt / sub).is_dir():
            shutil.copytree(dbt / sub, dest / "dbt" / sub)
    if (dbt / "target" / "manifest.json").exists():  # re-parsed by `pfpw run` if stale against the models
        shutil.copy2(dbt / "target" / "manifest.json", dest / "dbt" / "target" / "manifest.json")
    return dest


def served(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    try:
        ledger = con.execute(
            "select sha256, rows_read, rows_loaded, status from audit.ingest_ledger where source_file = ?",
            [CORRECTED],
        ).fetchall()
        return {
            "run_id": con.execute("select run_id from audit.publication").fetchone()[0],
            "ledger": ledger,
            "collected": con.execute(
                f"select amount_collected from marts.fee_collection_district where year = {YEAR}"
            ).fetchone()[0],
        }
    finally:
        con.close()


def sensor_ticks(instance: dg.DagsterInstance) -> list:
    """The sensor's finished ticks, oldest first."""
    states = [
        s
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if s.instigator_name == SENSOR
    ]
    if not states:
        return []
    ticks = instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id)
    return sorted((t for t in ticks if t.status != TickStatus.STARTED), key=lambda t: t.timestamp)


def daemon_env(code: Path, home: Path, sources: Path, warehouse: Path) -> dict:
    """The environment of `pfpw run`, the daemon and the webserver on the copied code: the sensor every 5 s."""
    return {
        **os.environ,
        "PYTHONPATH": str(code),
        "DAGSTER_HOME": str(home),
        "PFPW_SOURCES_DIR": str(sources),
        "PFPW_WAREHOUSE_DIR": str(warehouse),
        "PFPW_PII_KEY": TEST_KEY.decode(),
        "PFPW_SENSOR_INTERVAL_SECONDS": "5",
    }


def test_the_daemon_runs_and_publishes_a_corrected_file(tmp_path):
    started = time.monotonic()
    sources, warehouse, home = tmp_path / "sources", tmp_path / "warehouse", tmp_path / "dagster_home"
    shutil.copytree(SAMPLE / "reference", sources / "reference")
    for agency in ("court", "finance", "hospital", "township"):
        for month in sorted((SAMPLE / agency).glob(f"{YEAR}-*")):
            shutil.copytree(month, sources / agency / month.name)
    code = snapshot_code(tmp_path / "code")
    home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", home / "dagster.yaml")  # the queued run coordinator
    env = daemon_env(code, home, sources, warehouse)

    # The instance's storage exists before two processes use it at once: SQLite storage created by
    # two processes at the same moment fails in one of them ("table runs already exists", seen in CI).
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)  # opening it created the run, event-log and schedule databases
    # the sensor switched on in the instance while a first publication is made, as on an ordinary
    # night; no daemon runs yet, so nothing ticks before the publication
    switch_on = subprocess.Popen(
        [BIN / "dagster", "sensor", "start", SENSOR, "-w", "workspace.yaml"],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    cli = subprocess.run(
        [BIN / "pfpw", "run"], cwd=code, env=env, capture_output=True, text=True, timeout=300
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    switched, _ = switch_on.communicate(timeout=120)
    assert switch_on.returncode == 0, switched
    before = served(warehouse)
    published = json.loads((warehouse / "state" / "published.json").read_text(encoding="utf-8"))
    assert published["run_id"] == before["run_id"]
    first_code = published["state"]["code"]
    assert before["ledger"][0][1] == 18
    timings = {"pfpw run": time.monotonic() - started}

    log_path = tmp_path / "daemon.log"
    daemon = start([BIN / "dagster-daemon", "run", "-w", "workspace.yaml"], log_path, env=env, cwd=code)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # first tick: the landing zone is the published one, nothing to run
            # (its very first tick only notes the landing zone and waits one interval for it to settle)
            def settled_ticks():
                return [t for t in sensor_ticks(instance) if "settle" not in (t.skip_reason or "")]

            first = wait_until("a first settled sensor tick", settled_ticks, 120, daemon)[0]
            timings["first tick"] = time.monotonic() - started
            assert first.status == TickStatus.SKIPPED, first
            assert f"content unchanged since publication {before['run_id']}" in first.skip_reason
            assert not instance.get_run_records(dg.RunsFilter(tags={"pfpw/trigger": "sensor"}))

            # a corrected delivery: one more payment in June's finance file
            corrected = sources / CORRECTED
            with corrected.open("a", encoding="utf-8", newline="") as f:
                f.write(NEW_PAYMENT)
            new_sha = hashlib.sha256(corrected.read_bytes()).hexdigest()

            def finished():
                records = instance.get_run_records(dg.RunsFilter(tags={"pfpw/trigger": "sensor"}))
                return [r for r in records if r.dagster_run.status in TERMINAL]

            record = wait_until("the sensor's run to finish", finished, 360, daemon, step=2.0)[0]
            timings["sensor run"] = time.monotonic() - started
            run = record.dagster_run
            if run.status != dg.DagsterRunStatus.SUCCESS:
                errors = [
                    e.dagster_event.message
                    for e in instance.all_logs(run.run_id)
                    if e.is_dagster_event and e.dagster_event.is_failure
                ]
                pytest.fail(f"sensor run {run.run_id}: {run.status}\n" + "\n".join(map(str, errors)))
            assert run.job_name == "pfpw_nightly"
            assert run.tags["pfpw/changed"] == "finance"
            assert run.tags["dagster/sensor_name"] == SENSOR
            assert len(instance.get_run_records(dg.RunsFilter(tags={"pfpw/trigger": "sensor"}))) == 1

            # the served file is the sensor run's, and counts the new payment
            after = served(warehouse)
            assert after["run_id"] == run.run_id != before["run_id"]
            assert after["ledger"] == [(new_sha, 19, 19, "loaded")]
            assert before["ledger"][0][0] != new_sha
            assert after["collected"] - before["collected"] == Decimal("100.00")
            published = json.loads((warehouse / "state" / "published.json").read_text(encoding="utf-8"))
            assert published["run_id"] == run.run_id
            # keyed by the content state and the publication it replaced
            assert run.tags["dagster/run_key"] == f"{published['state']['digest']}:{before['run_id']}"
            assert published["state"]["code"] == first_code  # the daemon's run ran the code `pfpw run` did

            # the report follows as its own run, launched by the report_after_publication sensor
            def reported():
                runs = instance.get_runs(
                    dg.RunsFilter(job_name="pfpw_report", tags={"pfpw/after": run.run_id})
                )
                return [r for r in runs if r.status in TERMINAL]

            (report,) = wait_until("the report's run after the night", reported, 180, daemon, step=2.0)
            timings["report run"] = time.monotonic() - started
            assert report.status == dg.DagsterRunStatus.SUCCESS, report.run_id
            stamp = json.loads((warehouse / "report" / ".built_from.json").read_text(encoding="utf-8"))
            assert stamp["publication"] == run.run_id

            # and the landing zone, now published, makes the next tick skip again
            done = len(sensor_ticks(instance))
            late = wait_until("a tick after the run", lambda: sensor_ticks(instance)[done:], 60, daemon)[0]
            assert late.status == TickStatus.SKIPPED and not late.run_ids
    except BaseException:
        print(f"--- dagster-daemon output ({log_path}) ---")
        print(log_path.read_text(errors="replace")[-20000:])
        raise
    finally:
        stop_group(daemon, TERMINATE_THEN_KILL)  # the daemon and what it started: code server, run workers
        timings["total"] = time.monotonic() - started
        print("timings (s since start): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
