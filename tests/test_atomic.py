"""Whole files or none: the one helper every writer of a JSON, text or Parquet file uses."""

import json
import os
import subprocess
import sys

from dagster_project import atomic
from dagster_project.report import charts


def test_a_file_is_replaced_whole_and_no_temporary_is_left(tmp_path):
    target = tmp_path / "sub" / "state.json"
    atomic.write_json(target, {"县": "331003"}, ensure_ascii=False)
    atomic.write_json(target, {"县": "331004"}, ensure_ascii=False)
    assert json.loads(target.read_text(encoding="utf-8")) == {"县": "331004"}
    assert "331004" in target.read_text(encoding="utf-8")
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_temporary_tells_whether_its_writer_still_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = tmp_path / f".a.json.{int(done.stdout)}.tmp"
    live = tmp_path / f".a.json.{os.getppid()}.tmp"
    assert atomic.is_temporary(dead) and atomic.is_temporary(live)
    assert not atomic.writer_alive(dead)
    assert atomic.writer_alive(live)
    assert not atomic.writer_alive(atomic.temporary(tmp_path / "a.json"))  # this process's own


def test_the_chart_cache_prune_spares_a_concurrent_writers_temporary(tmp_path):
    cache = tmp_path / ".charts"
    cache.mkdir()
    (cache / "old.svg").write_text("<svg/>")
    live = cache / f".new.svg.{os.getppid()}.tmp"
    live.write_text("<svg")
    assert charts.render_many([], cache=cache) == []
    assert [p.name for p in cache.iterdir()] == [live.name]
