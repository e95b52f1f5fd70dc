"""One writer per warehouse; the dbt project builds on its own from an ingested lake."""

import os
import re
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from dagster_project.locks import writer_lock
from dagster_project.settings import DBT_PROJECT_DIR


def test_a_second_writer_waits_for_the_first(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from dagster_project.locks import writer_lock
        with writer_lock(Path({str(tmp_path)!r})):
            Path({str(tmp_path / "held")!r}).write_text("")
            time.sleep(2)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script])
    while not (tmp_path / "held").exists():
        time.sleep(0.05)
    t = time.perf_counter()
    with writer_lock(tmp_path), writer_lock(tmp_path):  # re-entrant within a process
        waited = time.perf_counter() - t
    holder.wait()
    assert waited > 1.0


@pytest.mark.xdist_group("sample_lake")
def test_dbt_build_runs_on_its_own_in_the_dbt_folder(sample_lake):
    """`dbt build` (models, data tests and unit tests) with only PFPW_WAREHOUSE_DIR, as a developer runs it."""
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    env = {**os.environ, "PFPW_WAREHOUSE_DIR": str(sample_lake)}
    result = subprocess.run(
        [dbt, "build", "--target-path", str(sample_lake / "dbt_target")],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
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
