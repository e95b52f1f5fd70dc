"""The one module that uses what Dagster and dagster-dbt do not publish (``dagster._…``, private names).

Everything else in ``dagster_project/`` (and ``tests/``) uses Dagster's public API only: a test
(``tests/test_dagster_private.py``) fails when another module imports ``dagster._``, and fails loudly
when an upgrade moves or changes a private name used here. Each use says why there is no public way.

- :class:`PooledSqliteEventLogStorage`: Dagster's SQLite event log with its connections kept open (a
  subclass of the private ``SqliteEventLogStorage``; named in ``deploy/dagster.yaml``). There is no public
  base class for an event log storage on SQLite files, and the public ``SqliteEventLogStorage`` config
  (``dagster.yaml``) offers no connection pooling.
- ``DbtCliResourceWithoutAdapter``: dagster-dbt's ``DbtCliResource`` without its two per-invocation costs
  (private methods ``_cli_version`` and ``_initialize_dbt_core_adapter``; the resource has no option
  to skip them), and whose ``cli`` takes the variables the dbt process is given (``env``):
  ``DbtCliResource.cli`` builds the child's environment from ``os.environ`` and takes none, so they are
  set in this process for the call that starts dbt's process and restored as they were at once (the
  one write of this process's environment outside ``locks.py`` and GX's switch in ``settings.py``).
  Built when first asked for: importing dagster-dbt takes seconds, and this module is loaded with
  every Dagster instance (event log storage).
- :func:`step_node_name`: the job's top-level node (asset or check definition) a step event belongs to,
  from the event's ``node_handle`` (a documented field of the public ``DagsterEvent``, whose type,
  ``NodeHandle``, ``dagster`` does not export).
- :func:`restart_fork_server`: Python's fork server (``multiprocessing.forkserver``, not Dagster) stopped,
  so that the next multiprocess run in this process starts a new one. The fork server hands its step
  processes the environment it started with (the key, the run's writer token from ``locks.py``); a
  second multiprocess run in one process (the tests) must not get the first's. Python has no public
  way to stop it (``_stop`` is what CPython's own tests use). Measured alternative, public:
  Dagster's ``start_method: spawn`` for a `pfpw run`'s steps doubled each step's start (median 34 s
  against 16 s under a load of 7 to 11 on two cores, the sample's run 710 s against 365 s) and its
  ingestion units no longer overlapped (tests/test_two_districts.py).
- ``SqliteEventLogStorage``, ``InstigatorType``, ``TickStatus``: re-exported for the tests (Dagster's own
  storage class to compare with; the daemon's sensor ticks), which have no public names.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dagster import Field, StringSource

# no public base class for an event log on SQLite files (dagster.SqliteEventLogStorage is not exported)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    import dagster as dg

# ------------------------------------------------------------------ the event log storage


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, with its connections kept open (named in ``deploy/dagster.yaml``).

    Dagster's ``SqliteEventLogStorage`` builds a SQLAlchemy engine, opens a SQLite connection, reads the
    schema (``has_table``, once per stored check event) and throws all of it away for every event it
    stores; a run stores two events or more per asset and per check (planned, then the materialisation or
    the evaluation), each in its run's file and again in the index. On the sample's run (74 assets, 205
    checks) it cost more CPU (11.6 s) than ingestion: a run of 150 checks takes 7.6 s with Dagster's class
    and 2.0 s with this one (``benchmarks/event_log.py``, 2026-12-01).

    The same files, schema and transactions: one engine per shard file is kept with SQLAlchemy's usual
    pool for SQLite files (at most a few connections, reused), and a table once seen stays known. Writers
    in other processes (the multiprocess executor's steps, the daemon, the web server) open their own:
    SQLite's locks and WAL journal serialise them as before. A forked child forgets the parent's
    connections.

    Private: it overrides ``_connect`` and uses ``_initdb``, ``_initialized_dbs``, ``_db_lock`` and
    ``_base_dir`` of Dagster's class (no public hook opens the connection a storage uses).
    """

    def __init__(self, base_dir: str | None = None, inst_data=None):
        self._engines: dict[str, Engine] = {}
        self._known_tables: set[str] = set()
        self._inst_data = inst_data
        forget = weakref.WeakMethod(self._forget_engines)  # the hook must not keep the storage alive
        os.register_at_fork(after_in_child=lambda: (f := forget()) and f())
        if base_dir:
            super().__init__(base_dir, inst_data=inst_data)
        # else where Dagster's default keeps it, <the instance's folder>/history/runs/, known when the
        # instance registers (not from DAGSTER_HOME: DagsterInstance.from_config(folder) may have none)

    def register_instance(self, instance) -> None:
        if not hasattr(self, "_base_dir"):
            base_dir = os.path.join(instance.root_directory, "history", "runs", "")
            super().__init__(base_dir, inst_data=self._inst_data)
        super().register_instance(instance)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                pool_size=2,
                max_overflow=4,
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        if not isinstance(shard, str):
            raise TypeError(f"shard: a str, not {type(shard).__name__}")
        with self._db_lock, self._engine(shard).connect() as conn:
            raw = conn.connection.dbapi_connection
            changes = raw.total_changes
            with conn.begin():
                yield conn
            if shard != INDEX_SHARD_NAME and raw.total_changes != changes:
                # into the run's own file now: a reader elsewhere (the web server's live run view)
                # learns of new events from that file's modification, which Dagster's connection per
                # event made on closing (the last connection out checkpoints the WAL journal)
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def has_table(self, table_name: str) -> bool:
        if table_name in self._known_tables:
            return True
        found = super().has_table(table_name)
        if found:
            self._known_tables.add(table_name)
        return found

    # shard files that Dagster deletes or recreates: drop their connections first
    def delete_events(self, run_id: str) -> None:
        self._dispose(run_id)
        super().delete_events(run_id)

    def wipe(self) -> None:
        self._dispose()
        super().wipe()

    def upgrade(self) -> None:
        self._dispose()
        super().upgrade()

    def dispose(self) -> None:
        if hasattr(self, "_base_dir"):  # else never registered: nothing opened
            self._dispose()
            super().dispose()

    def _dispose(self, shard: str | None = None) -> None:
        with self._db_lock:
            for name in [shard] if shard else list(self._engines):
                engine = self._engines.pop(name, None)
                if engine is not None:
                    engine.dispose()
            self._known_tables.clear()

    def _forget_engines(self) -> None:
        # a forked child must not use (or close) the parent's SQLite connections
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines.clear()


# ------------------------------------------------------------------ dagster-dbt's resource


def _dbt_resource_without_adapter() -> type:
    import importlib.metadata
    from functools import cached_property

    from dagster_dbt import DbtCliResource
    from packaging import version

    class DbtCliResourceWithoutAdapter(DbtCliResource):
        """dagster-dbt's resource without two costs a night does not need (about 5 s per run).

        - ``_cli_version``: dagster-dbt runs ``dbt --version`` in a subprocess to learn the version; the
          executable is the one of this environment (or the Spark environment's, of the same dbt-core
          minor version), so it is the installed dbt-core's;
        - ``_initialize_dbt_core_adapter``: a dbt adapter opened in Dagster's own process, used only to
          fetch row counts and column metadata, which this project does not ask for.

        Private: ``DbtCliResource.cli`` calls both, and offers no option to skip them.

        ``cli(..., env={name: value or None})``: the variables dbt's process is given (None: not given),
        beside this process's own; see :func:`_child_environment`.
        """

        @cached_property
        def _cli_version(self):
            return version.parse(importlib.metadata.version("dbt-core"))

        def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 (dagster-dbt's signature)
            return None

        def cli(self, args, *, env: Mapping[str, str | None] | None = None, **kwargs):  # noqa: ANN001, ANN201
            with _child_environment(env or {}):
                return super().cli(args, **kwargs)

    DbtCliResourceWithoutAdapter.__module__ = __name__
    DbtCliResourceWithoutAdapter.__qualname__ = "DbtCliResourceWithoutAdapter"
    return DbtCliResourceWithoutAdapter


_environ_lock = threading.Lock()


@contextmanager
def _child_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """``values`` in this process's environment (None: removed) while ``DbtCliResource.cli`` starts dbt's
    process, then as they were.

    dagster-dbt gives dbt's process ``os.environ.copy()`` with its own variables (``DbtCliResource.cli``)
    and has no parameter for others; dbt's profiles.yml and models read the run's warehouse and an
    incremental night's months with ``env_var()``. The process is started inside ``cli`` (``subprocess.
    Popen`` in ``DbtCliInvocation.run``), so the variables need only last the call: nothing else in this
    process sees them after it (a step of the in-process executor runs alone; its helper thread, which
    imports Great Expectations, starts after the call).
    """
    if not values:
        yield
        return

    def put(these: Mapping[str, str | None]) -> None:
        for name, value in these.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    with _environ_lock:
        before = {name: os.environ.get(name) for name in values}
        try:
            put(values)
            yield
        finally:
            put(before)


def __getattr__(name: str):
    # built on first use: importing dagster-dbt is slow, and this module loads with every instance
    if name == "DbtCliResourceWithoutAdapter":
        cls = _dbt_resource_without_adapter()
        globals()[name] = cls
        return cls
    if name in ("InstigatorType", "TickStatus"):
        # the daemon's ticks and instigator states (tests/test_daemon.py): DagsterInstance.get_ticks and
        # all_instigator_state take and return these, and `dagster` exports neither
        from dagster._core.scheduler import instigation

        return getattr(instigation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------ events


def step_node_name(event: dg.DagsterEvent) -> str | None:
    """The job's top-level node (an asset or check definition's ``node_def.name``) a step event is of.

    ``DagsterEvent.node_handle`` is documented, its type ``NodeHandle`` is not exported: its ``root``
    (the outermost node: a graph-backed asset's graph, not the op inside it) is used here only.
    """
    handle = event.node_handle
    return handle.root.name if handle is not None else None


# ------------------------------------------------------------------ Python's fork server


def restart_fork_server() -> None:
    """Stop this process's fork server, if one runs: the next multiprocess run starts its own, with the
    environment of that run (see the module's docstring)."""
    import multiprocessing.forkserver as forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # noqa: SLF001 (no public way to restart it)
    if stop is not None:
        stop()
