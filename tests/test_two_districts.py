"""A landing zone of two districts runs through the same code: nothing hard-codes district 331003."""

import os

import dagster as dg
import duckdb
import pytest

from dagster_project.cli import main
from tests.nightly import environment

pytestmark = pytest.mark.xdist_group("two_districts")


@pytest.fixture(scope="module")
def two_districts(tmp_path_factory):
    base = tmp_path_factory.mktemp("two")
    assert main(["generate", "--out", str(base / "sources"), "--districts", "2", "--seed", "7"]) == 0
    with environment(DAGSTER_HOME=str(base / "dagster_home")):
        code = main(["run", "--sources", str(base / "sources"), "--warehouse", str(base / "warehouse")])
    return code, base / "warehouse"


def test_two_districts_each_reproduce_their_figures(two_districts):
    code, wh = two_districts
    assert code == 0
    db = wh / "serving.duckdb" if (wh / "serving.duckdb").exists() else wh / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    rows = con.sql("""select district_code, births, births_unplanned, townships_total
                      from marts.population_indicators_district where year = 2012 order by 1""").fetchall()
    fee = con.sql(
        "select district_code, cases_due, cases_filed from marts.fee_collection_district "
        "where year = 2012 order by 1"
    ).fetchall()
    towns = con.sql("select count(distinct township_code) from marts.fee_collection").fetchone()[0]
    con.close()
    assert [r[0] for r in rows] == ["331003", "331004"]
    assert all(r[1:] == (6287, 332, 19) for r in rows)
    assert all(f[1:] == (301, 293) for f in fee)
    assert towns == 38


@pytest.fixture(scope="module")
def multiprocess_run(two_districts, tmp_path_factory):
    """The same landing zone through `pfpw run --executor multiprocess --workers 2`, in its own instance."""
    _, in_process = two_districts
    base = tmp_path_factory.mktemp("two_multiprocess")
    # the environment as before afterwards: `--executor` sets PFPW_EXECUTOR for the run's step processes
    executor_before = os.environ.get("PFPW_EXECUTOR")
    with environment(DAGSTER_HOME=str(base / "dagster_home")):
        code = main(
            [
                "run",
                "--sources",
                str(in_process.parent / "sources"),
                "--warehouse",
                str(base / "warehouse"),
                "--executor",
                "multiprocess",
                "--workers",
                "2",
            ]
        )
        instance = dg.DagsterInstance.get()
        run = instance.get_runs(dg.RunsFilter(job_name="pfpw_nightly"), limit=1)[0]
        events = [e for e in instance.all_logs(run.run_id) if e.dagster_event]
        instance.dispose()
    assert os.environ.get("PFPW_EXECUTOR") == executor_before
    return code, base / "warehouse", run, events


def test_the_multiprocess_executor_publishes_the_same_marts(two_districts, multiprocess_run):
    """Dagster's multiprocess executor: ingestion's units in parallel processes, the served files cell for cell."""
    from tests.nightly import differences, snapshot

    _, in_process = two_districts
    code, warehouse, run, _ = multiprocess_run
    assert code == 0
    assert run.run_config["execution"]["config"] == {"mode": "multiprocess", "max_concurrent": 2}
    served, expected = snapshot(warehouse), snapshot(in_process)
    assert sum(len(rows) for rows in expected.values()) > 10_000
    assert differences(served, expected) == []


def test_the_multiprocess_executor_runs_ingestion_units_side_by_side(multiprocess_run):
    """One step per agency and district, each in its own process, two at a time."""
    *_, events = multiprocess_run
    spans: dict[str, list] = {}
    for e in events:
        ev = e.dagster_event
        if "_files[" in (ev.step_key or "") and ev.event_type in (
            dg.DagsterEventType.STEP_START,
            dg.DagsterEventType.STEP_SUCCESS,
        ):
            spans.setdefault(ev.step_key, []).append((e.timestamp, ev.pid))
    assert {k for k in spans if k.startswith("ingest_township.")} == {
        "ingest_township.township_files[331003]",
        "ingest_township.township_files[331004]",
    }
    assert {k.split("[")[1] for k in spans if k.startswith("ingest_hospital.")} == {"331003]", "331004]"}
    assert all(len(v) == 2 for v in spans.values())  # started and succeeded
    assert len({pid for v in spans.values() for _, pid in v}) == len(spans)  # a process per step
    intervals = sorted((v[0][0], v[1][0]) for v in spans.values())
    assert any(b_start < a_end for (_, a_end), (b_start, _) in zip(intervals, intervals[1:], strict=False))
