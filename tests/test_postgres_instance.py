"""Production's instance on PostgreSQL (docs/postgres.md): `make serve`'s storage, the daemon and the UI on it.

A real local cluster is started through deploy/postgres/pg.sh, the script `make serve` uses, and stopped at the
end whatever happens; DAGSTER_HOME gets the dagster.yaml `make serve` writes (deploy/postgres/instance.py). The
daemon then runs a sensor-triggered night of a small landing zone, and the webserver's GraphQL shows the run,
which PostgreSQL's own `runs` table holds. Skipped only where the PostgreSQL binaries are missing and CI is
not set (.ci/run installs them; with CI set a missing one fails).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

import dagster as dg
import duckdb
import psycopg2
import pytest
import yaml

from dagster_project.settings import PROJECT_DIR
from tests.nightly import small_zone
from tests.processes import TERMINATE_THEN_KILL, free_port, graphql, make, start, stop_group, wait_until
from tests.test_daemon import BIN, SENSOR, TERMINAL, daemon_env, snapshot_code
from tests.test_ui_door import listeners, serve_env

pytestmark = pytest.mark.xdist_group("postgres")

PG = PROJECT_DIR / "deploy" / "postgres" / "pg.sh"
WRITE_INSTANCE = PROJECT_DIR / "deploy" / "postgres" / "instance.py"
HAVE_PG = bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
DEPLOYED = yaml.safe_load((PROJECT_DIR / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))


def pg_url(folder, port: int = 5432) -> str:
    return subprocess.run(
        [PG, "url", folder, str(port)], check=True, capture_output=True, text=True
    ).stdout.strip()


def instance_file(home) -> dict:
    return yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))


def test_make_serve_writes_an_instance_on_postgresql_before_starting_anything(tmp_path):
    """No PostgreSQL binaries where PFPW_PG_BIN points: make serve has written the instance, then stops."""
    (tmp_path / "no-postgres").mkdir()
    pg_dir = tmp_path / "pg"
    env = serve_env(
        tmp_path,
        UI_INTERNAL_PORT=str(free_port()),
        PG_DIR=str(pg_dir),
        PFPW_PG_BIN=str(tmp_path / "no-postgres"),
    )
    env.pop("PFPW_DAGSTER_PG_URL", None)
    run = make("serve", env=env)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "no PostgreSQL binaries" in run.stderr, run.stderr
    config = instance_file(tmp_path / "dagster_home")
    assert config["storage"] == {"postgres": {"postgres_url": pg_url(pg_dir)}}
    assert pg_url(pg_dir).startswith(f"postgresql+psycopg2://pfpw@/dagster?host={pg_dir}&port=")
    # every other block of deploy/dagster.yaml kept (the queue, run monitoring...), its SQLite event log not
    assert "event_log_storage" not in config
    for key in set(DEPLOYED) - {"storage", "run_storage", "event_log_storage", "schedule_storage"}:
        assert config[key] == DEPLOYED[key], key
    assert config["run_monitoring"]["enabled"] is True
    # nothing started
    assert "dagster-webserver" not in run.stdout and not (pg_dir / "PG_VERSION").exists()
    assert not listeners(int(env["UI_PORT"])) and not listeners(int(env["UI_INTERNAL_PORT"]))

    # a server named by PFPW_DAGSTER_PG_URL: read from the environment, its password never in the file;
    # a bare postgresql:// (psycopg 3 under SQLAlchemy 2.1, not installed) refused before anything starts
    secret = "postgresql+psycopg2://pfpw:s3cret@db.example:5432/dagster"
    written = subprocess.run(
        [BIN / "python", WRITE_INSTANCE, "--home", tmp_path / "other"],
        env={**env, "PFPW_DAGSTER_PG_URL": secret},
        capture_output=True,
        text=True,
    )
    assert written.returncode == 0, written.stderr
    assert instance_file(tmp_path / "other")["storage"] == {
        "postgres": {"postgres_url": {"env": "PFPW_DAGSTER_PG_URL"}}
    }
    assert "s3cret" not in (tmp_path / "other" / "dagster.yaml").read_text(encoding="utf-8")
    bare = make(
        "serve", env={**env, "PFPW_DAGSTER_PG_URL": "postgresql://pfpw:s3cret@db.example:5432/dagster"}
    )
    assert bare.returncode != 0 and "postgresql+psycopg2://" in bare.stderr, bare.stderr
    assert "s3cret" not in bare.stdout + bare.stderr and "dagster-webserver" not in bare.stdout


@pytest.fixture
def cluster():
    """A local cluster started by pg.sh, as `make serve` starts it; stopped and removed whatever happens."""
    if not HAVE_PG:
        if os.environ.get("CI"):
            pytest.fail("CI must have PostgreSQL (.ci/run: apt-get install postgresql)")
        pytest.skip("no /usr/lib/postgresql/*/bin/initdb here (CI installs it: apt-get install postgresql)")
    # under /tmp, not pytest's tmp_path (mode 0700): as root the server runs as the postgres user, who must reach it
    folder = tempfile.mkdtemp(prefix="pfpw-pg-")
    try:
        started = subprocess.run([PG, "start", folder], capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, started.stdout + started.stderr
        yield folder
    finally:
        subprocess.run([PG, "stop", folder], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


RUNS = """{ runsOrError(filter: {tags: [{key: "pfpw/trigger", value: "sensor"}]}) {
  ... on Runs { results { runId status jobName tags { key value } } } } }"""


def test_the_daemon_runs_a_sensor_night_on_postgresql_and_the_ui_shows_it(tmp_path, cluster):
    started = time.monotonic()
    sources, warehouse, home = tmp_path / "sources", tmp_path / "warehouse", tmp_path / "dagster_home"
    small_zone(sources, townships=1)
    code = snapshot_code(tmp_path / "code")
    url = pg_url(cluster)
    subprocess.run([BIN / "python", WRITE_INSTANCE, "--home", home, "--url", url], check=True)
    env = daemon_env(code, home, sources, warehouse)
    env.pop("PFPW_DAGSTER_PG_URL", None)
    with dg.DagsterInstance.from_config(str(home)) as instance:  # creates Dagster's tables in PostgreSQL
        storages = {type(s).__name__ for s in (instance.run_storage, instance.event_log_storage)}
        assert storages | {type(instance.schedule_storage).__name__} == {
            "PostgresRunStorage",
            "PostgresEventLogStorage",
            "PostgresScheduleStorage",
        }
        assert instance.run_monitoring_enabled
    switched = subprocess.run(
        [BIN / "dagster", "sensor", "start", SENSOR, "-w", "workspace.yaml"],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert switched.returncode == 0, switched.stdout + switched.stderr
    timings = {"sensor on": time.monotonic() - started}

    port = free_port()
    daemon_log, web_log = tmp_path / "daemon.log", tmp_path / "webserver.log"
    daemon = web = None
    try:
        daemon = start([BIN / "dagster-daemon", "run", "-w", "workspace.yaml"], daemon_log, env=env, cwd=code)
        web = start(
            [BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            web_log,
            env=env,
            cwd=code,
        )
        with dg.DagsterInstance.from_config(str(home)) as instance:

            def finished():
                records = instance.get_run_records(dg.RunsFilter(tags={"pfpw/trigger": "sensor"}))
                return [r for r in records if r.dagster_run.status in TERMINAL]

            record = wait_until("the sensor's run to finish", finished, 600, (daemon, web), step=2.0)[0]
            run = record.dagster_run
            timings["sensor run"] = time.monotonic() - started
            assert run.status == dg.DagsterRunStatus.SUCCESS, [
                e.dagster_event.message for e in instance.all_logs(run.run_id) if e.is_dagster_event
            ][-10:]
        assert run.job_name == "pfpw_nightly" and run.tags["dagster/sensor_name"] == SENSOR
        con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
        try:
            assert con.execute("select run_id from audit.publication").fetchone()[0] == run.run_id
        finally:
            con.close()
        # the run is PostgreSQL's: Dagster's `runs` table in the cluster's database
        with (
            psycopg2.connect(host=cluster, port=5432, user="pfpw", dbname="dagster") as pg,
            pg.cursor() as cur,
        ):
            cur.execute("select status from runs where run_id = %s", (run.run_id,))
            assert cur.fetchall() == [("SUCCESS",)]

        # and the UI's GraphQL shows it
        def ui_runs():
            return graphql(f"http://127.0.0.1:{port}", RUNS)["runsOrError"]["results"]

        shown = wait_until("the webserver's GraphQL", ui_runs, 180, (daemon, web), step=2.0)
        timings["graphql"] = time.monotonic() - started
        assert [(r["runId"], r["status"], r["jobName"]) for r in shown] == [
            (run.run_id, "SUCCESS", "pfpw_nightly")
        ]
        assert {"key": "dagster/sensor_name", "value": SENSOR} in shown[0]["tags"]
    except BaseException:
        for log in (daemon_log, web_log):
            print(f"--- {log} ---\n" + log.read_text(errors="replace")[-10000:])
        raise
    finally:
        for proc in (web, daemon):
            if proc is not None:
                stop_group(proc, TERMINATE_THEN_KILL)
        timings["total"] = time.monotonic() - started
        print("timings (s since start): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
