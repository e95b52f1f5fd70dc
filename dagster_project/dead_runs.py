"""Runs whose process died without reporting: found by their process tags, and marked failed.

A run whose process is killed (SIGKILL, the kernel's OOM killer, a Rust reader's abort) cannot
report its own end: Dagster would show it STARTED for ever and, under the daemon's
QueuedRunCoordinator, it would keep the ``pfpw/warehouse-writer`` slot. Every run therefore
records, as run tags, the process that executes it (``process_tags``): ``pfpw run`` when it
creates the run, the first asset (``landing_zone_state``) for runs launched by the daemon or the UI.
``fail_dead_runs`` (called by ``pfpw run`` before it creates its own run, and every minute by the
``dead_runs_sensor``) marks failed every active run of this host whose process is gone.

Dagster's own run monitoring (deploy/dagster.yaml) fails runs stuck in STARTING, but the
DefaultRunLauncher does not support run-worker health checks, hence this check.

Limits: runs without the tags (a run that died before its first asset, or launched by older code)
are left alone: Dagster's start timeout covers those still STARTING; runs of another host are left
alone (this host cannot see their processes). No ``dagster._`` import: public API only.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_project import atomic

if TYPE_CHECKING:  # imported where used: the process checks need no Dagster
    import dagster as dg

PID_TAG = "pfpw/pid"
HOST_TAG = "pfpw/host"
START_TAG = "pfpw/pid-start"


def _active() -> list:
    import dagster as dg

    return [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, /proc/<pid>/stat field 22), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # field 2 (the command) is in parentheses and may hold spaces: count the fields after its closing one
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line: the 20th after the command


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])  # field 4


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` exists and, when ``start`` is given, is the one that started at ``start``.

    Without /proc (not Linux) only the pid's existence is checked (signal 0).
    """
    if not Path("/proc/self/stat").exists():
        return atomic.pid_exists(pid)
    now = process_start(pid)
    if now is None:
        return False
    if _state(pid) == "Z":  # a zombie: dead, only not yet reaped by its parent
        return False
    return not start or now == start


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rindex(")") + 2 :].split()[0]  # field 3


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The run tags naming process ``pid`` (default: this one) on this host."""
    pid = pid or os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), START_TAG: process_start(pid) or ""}


def run_worker_pid(multiprocess: bool) -> int | None:
    """The process that executes the run, seen from one of its steps: this one (in-process executor), or,
    for a step process of the multiprocess executor, the run worker that started it: its parent, or
    the forkserver's parent when steps are forked from a server (found through /proc). None when that
    chain cannot be read: a step process's own pid ends with the step, not the run, and must not be
    recorded as the run's."""
    me = os.getpid()
    if not multiprocess:
        return me
    parent = _parent(me)
    if parent is not None and parent > 1 and "forkserver" in _cmdline(parent):
        parent = _parent(parent)
    return parent if parent is not None and parent > 1 else None


def dead_reason(run: dg.DagsterRun, by: str) -> str | None:
    """Why ``run`` is dead (its process, named by its tags, is gone from this host), or None."""
    tags = run.tags
    try:
        pid = int(tags[PID_TAG])
    except (KeyError, ValueError):
        return None
    start = tags.get(START_TAG) or None
    if process_alive(pid, start):
        return None
    host = tags.get(HOST_TAG, "?")
    reused = (
        f"; pid {pid} is now another process (started at tick {process_start(pid)}, not {start})"
        if start and process_start(pid) is not None
        else ""
    )
    return (
        f"the process that ran it (pid {pid} on host {host}) is gone{reused}: it died without reporting "
        f"(killed, out of memory, or a reader's abort); marked failed by {by}"
    )


def fail_dead_runs(
    instance: dg.DagsterInstance, host: str | None = None, by: str = "pfpw"
) -> list[tuple[str, str]]:
    """Mark failed every STARTING or STARTED run of ``host`` (default: this one) whose process is gone.

    Returns (run id, reason) per run failed. Runs of another host, and runs without the process
    tags, are left alone.
    """
    import dagster as dg

    host = host or socket.gethostname()
    active = _active()
    failed = []
    for run in instance.get_runs(dg.RunsFilter(statuses=active, tags={HOST_TAG: host})):
        reason = dead_reason(run, by)
        if reason is None:
            continue
        # the process is gone, so it can no longer report: only what another reporter did since counts
        run = instance.get_run_by_id(run.run_id)
        if run is None or run.status not in active:
            continue
        instance.report_run_failed(run, reason)
        failed.append((run.run_id, reason))
    return failed


def untagged_active_runs(instance: dg.DagsterInstance) -> list[str]:
    """The ids of STARTING or STARTED runs that name no process (left alone by ``fail_dead_runs``)."""
    import dagster as dg

    runs = instance.get_runs(dg.RunsFilter(statuses=_active()))
    return [r.run_id for r in runs if PID_TAG not in r.tags]
