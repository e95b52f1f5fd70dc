"""A run whose process died is not left STARTED (issue 24): the next `pfpw run` and the sensor fail it.

Every run names the process that executes it (run tags ``pfpw/pid``, ``pfpw/host``,
``pfpw/pid-start``); ``dead_runs.fail_dead_runs`` marks failed the active runs of this host whose
process is gone, or whose pid now belongs to another process.
"""

import os
import socket
import subprocess
import sys
import time

import dagster as dg
import pytest

from tests.factories import write_reference
from tests.nightly import small_zone
from tests.test_publish import pfpw_run
from tests.test_readers_and_kills import killed_at

pytestmark = pytest.mark.xdist_group("dead_runs")


@dg.op
def _noop() -> None:
    pass


@dg.job
def _job():
    _noop()


def _started(instance: dg.DagsterInstance, **tags: str) -> dg.DagsterRun:
    return instance.create_run_for_job(_job, status=dg.DagsterRunStatus.STARTED, tags=tags)


def _status(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run.run_id).status


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    (entry,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return entry.dagster_event.message


@pytest.fixture
def dead_process() -> tuple[int, str]:
    """The pid and start time of a process that has ended (and been reaped)."""
    from dagster_project.dead_runs import process_start

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    start = process_start(proc.pid)
    proc.kill()
    proc.wait()
    return proc.pid, start


def test_process_alive_tells_a_live_process_from_a_dead_one_and_from_a_reused_pid(dead_process):
    from dagster_project.dead_runs import process_alive, process_start, process_tags

    me = os.getpid()
    assert process_alive(me) and process_alive(me, process_start(me))
    assert not process_alive(me, "1")  # the pid's process started at another time: not the run's
    assert not process_alive(*dead_process)
    tags = process_tags()
    assert tags == {
        "pfpw/pid": str(me),
        "pfpw/host": socket.gethostname(),
        "pfpw/pid-start": process_start(me),
    }


def _worker_pid(queue) -> None:
    from dagster_project.dead_runs import run_worker_pid

    queue.put(run_worker_pid(multiprocess=True))


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_a_step_process_of_the_multiprocess_executor_names_its_run_worker(method):
    """A daemon's multiprocess run: its first asset runs in a step process, and records the run worker."""
    import multiprocessing

    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    step = ctx.Process(target=_worker_pid, args=(queue,))
    step.start()
    assert queue.get(timeout=60) == os.getpid()
    step.join()


def test_only_runs_of_this_host_whose_process_is_gone_are_failed(instance, dead_process):
    from dagster_project.dead_runs import fail_dead_runs, process_tags, untagged_active_runs

    pid, start = dead_process
    host = socket.gethostname()
    alive = _started(instance, **process_tags())
    elsewhere = _started(
        instance, **{"pfpw/pid": str(pid), "pfpw/host": "another-host", "pfpw/pid-start": start}
    )
    untagged = _started(instance)
    dead = _started(instance, **{"pfpw/pid": str(pid), "pfpw/host": host, "pfpw/pid-start": start})
    reused = _started(instance, **{**process_tags(), "pfpw/pid-start": "1"})

    failed = dict(fail_dead_runs(instance, by="the test"))

    assert set(failed) == {dead.run_id, reused.run_id}
    for run in (alive, elsewhere, untagged):
        assert _status(instance, run) == dg.DagsterRunStatus.STARTED
    assert untagged_active_runs(instance) == [untagged.run_id]
    for run in (dead, reused):
        assert _status(instance, run) == dg.DagsterRunStatus.FAILURE
        assert _failure_message(instance, run.run_id) == failed[run.run_id]
    assert failed[dead.run_id] == (
        f"the process that ran it (pid {pid} on host {host}) is gone: it died without reporting "
        "(killed, out of memory, or a reader's abort); marked failed by the test"
    )
    assert f"pid {os.getpid()} is now another process" in failed[reused.run_id]
    assert fail_dead_runs(instance) == []  # failed once: no longer active


def test_the_sensor_fails_a_dead_run(instance, dead_process):
    from dagster_project.defs.automation.sensors import dead_runs_sensor

    assert dead_runs_sensor.minimum_interval_seconds == 60
    assert dead_runs_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    pid, start = dead_process
    dead = _started(
        instance, **{"pfpw/pid": str(pid), "pfpw/host": socket.gethostname(), "pfpw/pid-start": start}
    )
    result = dead_runs_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason)
    assert f"marked 1 run(s) FAILED whose process is gone: {dead.run_id}" in result.skip_message
    assert _status(instance, dead) == dg.DagsterRunStatus.FAILURE
    assert "marked failed by the dead_runs_sensor" in _failure_message(instance, dead.run_id)
    again = dead_runs_sensor(dg.build_sensor_context(instance=instance))
    assert again.skip_message == "no run of this host with its process gone"


def test_a_run_created_without_the_tags_gets_them_from_its_first_asset(instance, tmp_path, monkeypatch):
    """As a run launched by the daemon or the UI: its first asset records the run worker (in-process)."""
    from dagster_project.pipeline import QUIET_LOGS, state_only_job

    write_reference(tmp_path / "sources")
    monkeypatch.setenv("PFPW_SOURCES_DIR", str(tmp_path / "sources"))
    monkeypatch.setenv("PFPW_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    result = state_only_job().execute_in_process(instance=instance, run_config=QUIET_LOGS)
    assert result.success
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["pfpw/pid"] == str(os.getpid())
    assert tags["pfpw/host"] == socket.gethostname()


def test_a_killed_pfpw_run_is_failed_by_the_next_one_which_succeeds(tmp_path):
    """SIGKILL during ingestion: the run stays STARTED; the next `pfpw run` marks it failed, with why."""
    sources = small_zone(tmp_path / "sources", townships=1)
    warehouse, home = tmp_path / "warehouse", tmp_path / "home"
    started = time.monotonic()
    killed_at("ingest", sources, warehouse, home, tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (killed,) = instance.get_runs()
        assert killed.status == dg.DagsterRunStatus.STARTED  # nobody reported its end
    result = pfpw_run(sources, warehouse, home)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(killed.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        message = _failure_message(instance, killed.run_id)
        (latest, _) = instance.get_runs(dg.RunsFilter(job_name="pfpw_nightly"))
        assert latest.status == dg.DagsterRunStatus.SUCCESS
    pid = killed.tags["pfpw/pid"]
    assert message.startswith(f"the process that ran it (pid {pid} on host {socket.gethostname()}) is gone: ")
    assert "marked failed by `pfpw run` (pid " in message
    assert f"pfpw run: marked run {killed.run_id} FAILED: {message}" in result.stdout
    print(f"\nkill and rerun: {time.monotonic() - started:.0f} s; the killed run's failure: {message}")
