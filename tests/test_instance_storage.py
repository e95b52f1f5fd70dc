"""The event log storage pfpw deploys (dagster_project/dagster_private.py) keeps Dagster's behaviour."""

import shutil
import threading
import time

import dagster as dg
from dagster import EventLogEntry

from dagster_project.dagster_private import PooledSqliteEventLogStorage, SqliteEventLogStorage
from dagster_project.settings import PROJECT_DIR
from tests.nightly import environment, instance_for_test

CHECKS = 12


@dg.asset(check_specs=[dg.AssetCheckSpec(f"c{i}", asset="a") for i in range(CHECKS)])
def a():
    yield dg.Output(1)
    for i in range(CHECKS):
        yield dg.AssetCheckResult(check_name=f"c{i}", passed=i != 3)


@dg.asset(deps=[a])
def b():
    return 2


def history(instance: dg.DagsterInstance) -> list:
    """What a run left in the instance, without ids and times: its events, the latest check
    executions and materialisations, as the UI and the sensors read them."""
    out = []
    for run in instance.get_runs():
        out.append(
            [(e.dagster_event_type, e.step_key) for e in instance.all_logs(run.run_id) if e.dagster_event]
        )
    keys = [dg.AssetCheckKey(dg.AssetKey("a"), f"c{i}") for i in range(CHECKS)]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    out.append(sorted((k.name, r.status.value) for k, r in latest.items()))
    out.append([len(instance.fetch_materializations(dg.AssetKey(k), limit=10).records) for k in "ab"])
    return out


def test_the_deployed_instance_uses_it_and_records_what_dagsters_own_storage_records(tmp_path):
    home = tmp_path / "deployed"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", home / "dagster.yaml")
    # entered as a context: Dagster's current definitions-state storage is this instance's while it is used
    # (not one left behind by an earlier test's instance, since disposed: that fails the definitions' load)
    with environment(DAGSTER_HOME=str(home)), dg.DagsterInstance.get() as deployed:
        assert type(deployed.event_log_storage) is PooledSqliteEventLogStorage
        assert deployed.event_log_storage._base_dir.startswith(str(home / "history" / "runs"))
        for _ in range(2):
            assert dg.materialize(
                [a, b], instance=deployed
            ).success  # c3 fails: a failed check, not a failed run
        ours = history(deployed)
    (tmp_path / "plain").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "plain")) as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        for _ in range(2):
            dg.materialize([a, b], instance=plain)
        assert history(plain) == ours
    assert ours[-2] == sorted((f"c{i}", "FAILED" if i == 3 else "SUCCEEDED") for i in range(CHECKS))
    # the run history survives the process: a new instance on the same home reads it back
    with environment(DAGSTER_HOME=str(home)), dg.DagsterInstance.get() as again:
        assert history(again) == ours


def test_a_watcher_elsewhere_sees_each_event_while_the_writer_keeps_its_connections(tmp_path):
    """The web server's live run view watches the run's own database file: each stored event must
    reach that file, not wait in the WAL journal of a connection the writer keeps open."""
    base = str(tmp_path / "runs") + "/"
    writer = PooledSqliteEventLogStorage(base)
    run_id = "0f3c9a5e-0000-4000-8000-000000000001"

    def entry(i: int) -> EventLogEntry:
        return EventLogEntry(
            error_info=None,
            level=20,
            user_message=f"event {i}",
            run_id=run_id,
            timestamp=time.time(),
            step_key=None,
            job_name="pfpw",
            dagster_event=None,
        )

    writer.store_event(entry(0))  # the run's file exists before the UI watches it
    seen: list[str] = []
    arrived = threading.Event()

    def callback(event, cursor):
        seen.append(event.user_message)
        if len(seen) == 3:
            arrived.set()

    watcher = SqliteEventLogStorage(base)  # Dagster's own, as in the web server
    watcher.watch(run_id, None, callback)
    try:
        time.sleep(0.5)
        for i in range(1, 4):
            writer.store_event(entry(i))
            time.sleep(0.2)
        assert arrived.wait(10), f"the watcher saw {seen}"
        assert seen[:3] == ["event 0", "event 1", "event 2"] or seen[-3:] == ["event 1", "event 2", "event 3"]
    finally:
        watcher.end_watch(run_id, callback)
        watcher.dispose()
        writer.dispose()


def test_an_instance_from_a_folder_keeps_its_events_in_that_folder(tmp_path, monkeypatch):
    """Not in DAGSTER_HOME: DagsterInstance.from_config(folder) may have none, or another one."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(elsewhere))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage) is PooledSqliteEventLogStorage
        assert dg.materialize([b], instance=instance).success
    assert (home / "history" / "runs" / "index.db").exists()
    assert len(list((home / "history" / "runs").glob("*-*.db"))) == 1  # the run's own file
    assert not list(elsewhere.iterdir())
    (tmp_path / "test").mkdir()
    with instance_for_test(tmp_path / "test") as inst:  # and the tests' instances use it
        assert type(inst.event_log_storage) is PooledSqliteEventLogStorage
        assert inst.event_log_storage._base_dir.startswith(str(tmp_path / "test"))
