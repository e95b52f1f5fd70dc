"""One writer per warehouse; the dbt project builds on its own from an ingested lake."""

import os
import re
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from dagster_project.locks import TOKEN_VAR, run_lock, writer_lock
from tests.processes import dbt


def _hold(tmp_path, how: str, seconds: float = 2.0, env: dict | None = None) -> subprocess.Popen:
    """Another process holding the warehouse (``run_lock`` or ``writer_lock``) for ``seconds``."""
    flag = tmp_path / f"held-{how}"
    flag.unlink(missing_ok=True)
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from dagster_project.locks import {how}
        with {how}(Path({str(tmp_path)!r})):
            Path({str(flag)!r}).write_text("")
            time.sleep({seconds})
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], env=env)
    while not flag.exists():
        assert holder.poll() is None, "the holder exited before holding the lock"
        time.sleep(0.05)
    return holder


def _waited(lock) -> float:
    t = time.perf_counter()
    with lock:
        return time.perf_counter() - t


def test_a_writer_waits_for_a_run_and_a_run_for_writers(tmp_path):
    holder = _hold(tmp_path, "run_lock")
    with writer_lock(tmp_path), writer_lock(tmp_path):  # re-entrant within a process
        pass
    holder.wait()
    holder = _hold(tmp_path, "writer_lock")
    assert _waited(run_lock(tmp_path)) > 1.0
    holder.wait()


def test_run_lock_waits_for_another_run(tmp_path):
    holder = _hold(tmp_path, "run_lock")
    waited = _waited(run_lock(tmp_path))
    holder.wait()
    assert waited > 1.0


def test_steps_of_one_ui_run_write_side_by_side(tmp_path):
    """Writers outside a `pfpw run` share the lock (one queued run's parallel steps); the run queue keeps runs apart."""
    holder = _hold(tmp_path, "writer_lock", seconds=3)
    waited = _waited(writer_lock(tmp_path))
    holder.wait()
    assert waited < 1.0


def test_the_step_processes_of_a_run_write_under_its_lock(tmp_path):
    """A process started by the run (the multiprocess executor's steps) inherits the right to write; others wait."""
    with run_lock(tmp_path):
        token = os.environ[TOKEN_VAR]
        t = time.perf_counter()
        child = _hold(tmp_path, "writer_lock", seconds=0.1, env={**os.environ})
        child.wait()
        assert time.perf_counter() - t < 10 and child.returncode == 0
        assert token.endswith((tmp_path / ".writer.lock").read_text().strip())
        stranger = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
        flag = tmp_path / "held-writer_lock"
        flag.unlink(missing_ok=True)
        outsider = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from pathlib import Path; from dagster_project.locks import writer_lock\n"
                f"with writer_lock(Path({str(tmp_path)!r})): Path({str(flag)!r}).write_text('')",
            ],
            env=stranger,
        )
        time.sleep(2)
        assert not flag.exists()  # an outsider waits for the run to end
    outsider.wait(timeout=30)
    assert flag.exists()
    assert TOKEN_VAR not in os.environ  # the token leaves with the run


@pytest.mark.xdist_group("sample_lake")
def test_dbt_build_runs_on_its_own_in_the_dbt_folder(sample_lake):
    """`dbt build` (models, data tests and unit tests) with only PFPW_WAREHOUSE_DIR, as a developer runs it."""
    result = dbt(sample_lake, "build", "--target-path", str(sample_lake / "dbt_target"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ERROR=0" in result.stdout and "FAIL" not in result.stdout.split("Done.")[-1]
    ran = re.search(r"(\d+) unit tests", result.stdout)
    assert ran and int(ran.group(1)) >= 8  # every unit test ran (and, with ERROR=0, passed)
    con = duckdb.connect(str(sample_lake / "warehouse.duckdb"), read_only=True)
    assert (
        con.sql("select births from marts.population_indicators_district where year = 2012").fetchone()[0]
        == 6287
    )
    con.close()
