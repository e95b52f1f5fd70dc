"""One writing run per warehouse: flocks on <warehouse>/.writer.lock, re-entrant within a process.

Two kinds of holders:

- ``run_lock``: a whole run's exclusive hold, taken by `pfpw run` before it decides what tonight
  needs and released when the run is over. It leaves a token in the lock file and in this
  process's environment, so the step processes of *its own* run (Dagster's multiprocess executor
  spawns them, and they inherit the environment) know the warehouse is theirs and write without
  waiting for themselves.
- ``writer_lock``: what every asset that writes (ingestion, dbt, publication) takes around its
  writes. Inside a `pfpw run` (same process, or a step process of its run) it is already held.
  Otherwise (a run launched from the UI or by the daemon) it is a *shared* hold: the steps of one
  such run may write disjoint parts of the lake side by side, while a `pfpw run` (exclusive) waits
  for them, and they wait for it. Two such runs never overlap: the instance's run queue lets one
  run tagged ``pfpw/warehouse-writer`` go at a time (dagster.yaml).

Readers never take it.

The token is the one variable ``dagster_project/`` writes into its own process's environment on
purpose, and reads back outside ``settings.py`` (listed as such there and held by
``tests/test_settings.py``): it is not a setting, but what a `pfpw run` hands the step processes
of its own run, which inherit the environment (Dagster's multiprocess executor forks them; no run
config reaches the lock taken before the run exists).
"""

import fcntl
import logging
import os
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
# "<lock path>:<token>" of the run lock this process tree holds: written to and read from os.environ on
# purpose (the module's docstring), not a setting
TOKEN_VAR = "PFPW_WRITER_TOKEN"
_held: dict[Path, list] = {}  # path -> [fd, depth]
_guard = threading.Lock()


def _path(warehouse: Path) -> Path:
    path = (warehouse / ".writer.lock").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _flock(path: Path, mode: int, waiting: str):
    with _guard:
        entry = _held.get(path)
        if entry:
            entry[1] += 1
    if not entry:
        f = path.open("a+")
        try:
            fcntl.flock(f, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning(waiting)
            fcntl.flock(f, mode)
        with _guard:
            _held[path] = [f, 1]
    try:
        yield _held[path][0]
    finally:
        with _guard:
            entry = _held[path]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[path]
                fcntl.flock(entry[0], fcntl.LOCK_UN)
                entry[0].close()


def _held_by_my_run(path: Path) -> bool:
    """A step process of the run that holds ``run_lock`` (the token it inherited is the lock's)."""
    mine = os.environ.get(TOKEN_VAR, "")
    if not mine.startswith(f"{path}:"):
        return False
    try:
        return path.read_text().strip() == mine.split(":", 1)[1]
    except OSError:
        return False


@contextmanager
def run_lock(warehouse: Path):
    """A whole run's exclusive hold; the step processes it starts inherit the right to write."""
    path = _path(warehouse)
    with _flock(
        path, fcntl.LOCK_EX, f"another pfpw run is writing {warehouse}: waiting for it to finish"
    ) as f:
        outer = os.environ.get(TOKEN_VAR)
        if not _held_by_my_run(path):
            token = secrets.token_hex(8)
            f.seek(0)
            f.truncate()
            f.write(token)
            f.flush()
            os.environ[TOKEN_VAR] = f"{path}:{token}"
        try:
            yield
        finally:
            if outer is None:
                os.environ.pop(TOKEN_VAR, None)
            else:
                os.environ[TOKEN_VAR] = outer


@contextmanager
def writer_lock(warehouse: Path):
    """Held by a step around its writes: free inside its own `pfpw run`, shared otherwise."""
    path = _path(warehouse)
    with _guard:
        held_here = path in _held
    if not held_here and _held_by_my_run(path):
        yield
        return
    with _flock(path, fcntl.LOCK_SH, f"a pfpw run is writing {warehouse}: waiting for it to finish"):
        yield
