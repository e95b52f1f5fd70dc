"""Readers are never locked out, and a run killed at any point harms nothing."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_KEY
from tests.processes import pfpw_command
from tests.test_publish import copy_run, pfpw_run

pytestmark = pytest.mark.xdist_group("sample_run")

READER = textwrap.dedent("""
    import json, sys, time, duckdb
    db, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
    import os
    log = {"errors": [], "runs": [], "queries": 0, "inconsistent": 0}
    con = duckdb.connect(db, read_only=True)
    first = con.sql("select run_id from audit.publication").fetchone()[0]
    i = 0
    while not os.path.exists(stop):
        try:
            run = con.sql("select run_id from audit.publication").fetchone()[0]
            district, towns = con.sql(
                "select (select sum(births) from marts.population_indicators_district),"
                " (select sum(births) from marts.population_indicators)").fetchone()
            log["queries"] += 1
            log["inconsistent"] += district != towns
            if run not in log["runs"]:
                log["runs"].append(run)
            i += 1
            if i % 50 == 0:  # sometimes a fresh connection, as a BI tool would open one
                con.close()
                con = duckdb.connect(db, read_only=True)
        except Exception as exc:
            log["errors"].append(repr(exc)[:300])
            time.sleep(0.05)
            try:
                con = duckdb.connect(db, read_only=True)
            except Exception as exc2:
                log["errors"].append(repr(exc2)[:300])
    con.close()
    con = duckdb.connect(db, read_only=True)
    log["after"] = con.sql("select run_id from audit.publication").fetchone()[0]
    log["first"] = first
    json.dump(log, open(out, "w"))
""")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def killed_at(point: str, sources: Path, warehouse: Path, home: Path, tmp_path: Path) -> None:
    marker = tmp_path / f"at-{point}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PFPW_PII_KEY": TEST_KEY.decode(),
        "PFPW_FAILPOINT": point,
        "PFPW_FAILPOINT_MARKER": str(marker),
    }
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        pfpw_command(sources, warehouse),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    while not marker.exists():
        assert proc.poll() is None, f"pfpw run ended before reaching {point}"
        assert time.time() < deadline, f"{point} not reached"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def killed_then_rerun(sample_run, tmp_path_factory):
    """Kill `pfpw run` at three points, then run it to the end while a reader loops on the served file."""
    import json

    tmp_path = tmp_path_factory.mktemp("kills")
    sources, warehouse = copy_run(sample_run, tmp_path)
    served = sha(warehouse / "serving.duckdb")
    # a re-delivery with the same rows (line endings changed), so that ingestion has work to do
    redelivered = sources / "hospital" / "2012-06" / "H01_births.csv"
    redelivered.write_bytes(redelivered.read_bytes().replace(b"\r\n", b"\n"))
    after_kill = {}
    for point in ("ingest", "dbt", "publish"):
        killed_at(point, sources, warehouse, tmp_path / "home", tmp_path)
        con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
        births = con.sql(
            "select births from marts.population_indicators_district where year = 2012"
        ).fetchone()[0]
        con.close()
        after_kill[point] = (sha(warehouse / "serving.duckdb"), births)
    leftover = [p.name for p in warehouse.glob(".serving-*")]
    (tmp_path / "reader.py").write_text(READER)
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, str(tmp_path / "reader.py"), str(warehouse / "serving.duckdb"), str(stop), str(out)]
    )
    time.sleep(1)
    result = pfpw_run(sources, warehouse, tmp_path / "home")
    stop.write_text("")
    reader.wait(timeout=60)
    return {
        "served_before": served,
        "after_kill": after_kill,
        "leftover": leftover,
        "result": result,
        "warehouse": warehouse,
        "reader": json.loads(out.read_text()),
    }


def test_readers_are_never_locked_out_during_a_run(killed_then_rerun):
    log, result = killed_then_rerun["reader"], killed_then_rerun["result"]
    assert result.returncode == 0, result.stdout[-2000:]
    assert log["errors"] == []
    assert log["queries"] > 100 and log["inconsistent"] == 0
    assert log["after"] != log["first"]  # a reader that reopens sees the new publication


def test_a_run_killed_during_ingestion_dbt_or_publication_is_harmless(killed_then_rerun):
    k = killed_then_rerun
    for point, (digest, births) in k["after_kill"].items():
        assert digest == k["served_before"], f"killed at {point}: the served file changed"
        assert births == 6287
    assert k["leftover"]  # the killed publication left its temporary file...
    warehouse, result = k["warehouse"], k["result"]
    assert result.returncode == 0, result.stdout[-3000:]
    assert not list(warehouse.glob(".serving-*"))  # ...which the next run cleared
    assert not [p for p in warehouse.rglob("*.tmp") if "dbt" not in p.parts]
    assert sha(warehouse / "serving.duckdb") != k["served_before"]
    con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    births, rate = con.sql(
        "select births, planned_birth_rate from marts.population_indicators_district where year = 2012"
    ).fetchone()
    cases = con.sql("select cases_due from marts.fee_collection_district where year = 2012").fetchone()[0]
    ledger = con.sql(
        "select count(*) from audit.ingest_ledger where source_file = 'hospital/2012-06/H01_births.csv' "
        "and rows_read = rows_loaded"
    ).fetchone()[0]
    con.close()
    assert (births, round(rate, 2), cases, ledger) == (6287, 94.72, 301, 1)
