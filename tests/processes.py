"""The processes the tests and benchmarks start, as a person or cron starts them.

`pfpw run`, dbt and make targets as new processes; servers (`make ui`, `make serve`, `make bi`, the webserver,
the daemon) in a process group of their own, on a free port, waited for until they answer, and stopped with
everything they started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from dagster_project.settings import DBT_PROJECT_DIR, PROJECT_DIR

T = TypeVar("T")
# what a server that is not listening yet, or not answering yet, raises
NOT_YET: tuple[type[BaseException], ...] = (urllib.error.URLError, ConnectionError, TimeoutError)
# a server's end, as Ctrl-C in its terminal would, then harder: (signal, seconds to wait for the group to go)
INTERRUPT_THEN_KILL = ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10))
TERMINATE_THEN_KILL = ((signal.SIGTERM, 30), (signal.SIGKILL, 10))


# ------------------------------------------------------------------ commands


def pfpw_command(sources: Path, warehouse: Path) -> list[str]:
    """`pfpw run` as a new process, as cron or a person runs it."""
    return [
        sys.executable,
        "-m",
        "dagster_project.cli",
        "run",
        "--sources",
        str(sources),
        "--warehouse",
        str(warehouse),
    ]


def dbt(
    warehouse: Path, *args: str, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The environment's dbt in the dbt folder, on the warehouse folder only (PFPW_WAREHOUSE_DIR), as a
    developer runs it there; ``env``: more variables for its process."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "PFPW_WAREHOUSE_DIR": str(warehouse), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """A make target that is expected to end by itself (a refusal, an error), its output captured."""
    return subprocess.run(
        ["make", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def env_without_venv(base: Path, port: int) -> dict:
    """The caller's environment minus the virtualenv: `make ui` must find everything by itself."""
    env = dict(os.environ)
    venv_bins = {str(PROJECT_DIR / ".venv" / "bin"), str(Path(sys.prefix) / "bin")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p not in venv_bins)
    for name in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PFPW_PII_KEY", "DAGSTER_HOME", "MAKEFLAGS"):
        env.pop(name, None)  # PFPW_PII_KEY unset: `make ui` passes the sample's public key itself
    env.update(
        DAGSTER_HOME=str(base / "dagster_home"),
        PFPW_WAREHOUSE_DIR=str(base / "warehouse"),
        PFPW_SOURCES_DIR=str(PROJECT_DIR / "sources"),
        UI_PORT=str(port),
    )
    return env


# ------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(url: str, query: str, timeout: float = 30) -> dict:
    """A GraphQL query to a Dagster webserver: its data (an answer with errors fails)."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.load(response)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def start(args: list, log: Path, *, env: dict, cwd: Path = PROJECT_DIR) -> subprocess.Popen:
    """A long-running process as a person starts it in a terminal, in a process group of its own (stopped as
    a whole by stop_group): no input, its output and errors into log."""
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def log_tail(log: Path, n: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:]) if log.exists() else ""


def _tail(log: Path | None) -> str:
    return f":\n{log_tail(log)}" if log else ""


def wait_until(
    what: str,
    probe: Callable[[], T],
    timeout: float,
    watched: subprocess.Popen | Iterable[subprocess.Popen],
    *,
    log: Path | None = None,
    step: float = 1.0,
    not_yet: tuple[type[BaseException], ...] = NOT_YET,
) -> T:
    """probe() again every step seconds until it returns something true, which is returned. An exception of
    not_yet (a server not listening yet) counts as not yet. Fails when a watched process exits, or after
    timeout seconds, with the tail of log."""
    watched = [watched] if isinstance(watched, subprocess.Popen) else list(watched)
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except not_yet:
            found = None
        if found:
            return found
        for proc in watched:
            if proc.poll() is not None:
                name = " ".join([Path(str(proc.args[0])).name, *map(str, proc.args[1:2])])
                raise AssertionError(
                    f"`{name}` exited ({proc.returncode}) while waiting for {what}{_tail(log)}"
                )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{_tail(log)}")
        time.sleep(step)


def live_members(pgid: int) -> list[int]:
    """Processes of the group that still run (zombies left to an init that does not reap are not)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_group(proc: subprocess.Popen, steps=INTERRUPT_THEN_KILL) -> float | None:
    """End proc's process group (proc and all it started): each (signal, seconds) of steps in turn, the signal
    to the whole group (0: none, only wait), until no member runs. The seconds that took; None if members
    still run after the last step."""
    started = time.monotonic()
    for sig, grace in steps:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + grace
        while True:
            proc.poll()  # reap the leader (make, a server) when it is ours
            if not live_members(proc.pid):
                return time.monotonic() - started
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
    return None
