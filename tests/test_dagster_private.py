"""Dagster through its public API: ``dagster_project/dagster_private.py`` is the one module that uses private
names, and these tests fail loudly when a Dagster or dagster-dbt upgrade moves or changes one of them."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dagster_project.settings import PROJECT_DIR

ADAPTER = PROJECT_DIR / "dagster_project" / "dagster_private.py"
THIS = Path(__file__).resolve()
PRIVATE_PACKAGES = ("dagster", "dagster_dbt", "dagster_postgres", "dagster_webserver", "dagster_graphql")
# the private names of dagster-dbt the adapter overrides: nobody else may name them
DBT_PRIVATE = ("_initialize_dbt_core_adapter", "_cli_version")


def _sources() -> list[Path]:
    files = [*(PROJECT_DIR / "dagster_project").rglob("*.py"), *(PROJECT_DIR / "tests").rglob("*.py")]
    return sorted(p for p in files if p.resolve() not in (ADAPTER.resolve(), THIS))


def _private_uses(path: Path) -> list[str]:
    """The private Dagster names ``path`` imports or reaches (``dagster._…``, ``dg._…``, dagster-dbt's)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    aliases = {"dagster"}  # names bound to a Dagster package in this file
    found = []

    def private(module: str) -> bool:
        parts = module.split(".")
        return parts[0] in PRIVATE_PACKAGES and any(p.startswith("_") for p in parts[1:])

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{path.name}:{node.lineno} import {alias.name}")
                if alias.name.split(".")[0] in PRIVATE_PACKAGES:
                    aliases.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if private(node.module):
                found.append(f"{path.name}:{node.lineno} from {node.module}")
            elif node.module.split(".")[0] in PRIVATE_PACKAGES:
                found += [
                    f"{path.name}:{node.lineno} from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(
                r"(dagster|dagster_dbt)\._[\w.]*", node.value
            ):  # importlib.import_module("dagster._…")
                found.append(f"{path.name}:{node.lineno} {node.value!r}")
        elif isinstance(node, ast.Name | ast.Attribute) and getattr(
            node, "id", getattr(node, "attr", None)
        ) in (DBT_PRIVATE):
            found.append(f"{path.name}:{node.lineno} {getattr(node, 'id', getattr(node, 'attr', ''))}")
        elif isinstance(node, ast.FunctionDef) and node.name in DBT_PRIVATE:
            found.append(f"{path.name}:{node.lineno} def {node.name}")
    for node in ast.walk(tree):  # dg._core… / dagster._check…: a private attribute of a Dagster package
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_no_module_but_the_adapter_uses_dagsters_private_names():
    sources = _sources()
    assert len(sources) > 30 and any(p.name == "pipeline.py" for p in sources)
    uses = [use for path in sources for use in _private_uses(path)]
    assert uses == [], "private Dagster names outside dagster_project/dagster_private.py:\n" + "\n".join(uses)


def test_the_check_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import dagster as dg\n"
        "import dagster._check as check\n"
        "from dagster._core.utils import make_new_run_id\n"
        "from dagster import _seven\n"
        "x = dg._core\n"
        "m = importlib.import_module('dagster._core.execution.api')\n"
        "class R:\n"
        "    def _initialize_dbt_core_adapter(self, args): ...\n",
        encoding="utf-8",
    )
    assert len(_private_uses(bad)) == 6
    ok = tmp_path / "ok.py"
    ok.write_text('"""No ``dagster._`` import: public API only."""\nimport dagster as dg\nx = dg.asset\n')
    assert _private_uses(ok) == []


# ------------------------------------------------------------------ what the adapter relies on


def test_the_private_sqlite_event_log_it_subclasses_is_where_and_as_it_was():
    module = importlib.import_module("dagster._core.storage.event_log.sqlite.sqlite_event_log")
    base = module.SqliteEventLogStorage
    assert module.INDEX_SHARD_NAME == "index"
    assert isinstance(module.SQLITE_BUSY_TIMEOUT_SECONDS, int | float)
    # what PooledSqliteEventLogStorage overrides or calls, with the signatures it assumes
    expected = {
        "__init__": ["self", "base_dir", "inst_data"],
        "_connect": ["self", "shard"],
        "_initdb": ["self", "engine", "for_index_shard"],
        "conn_string_for_shard": ["self", "shard_name"],
        "has_table": ["self", "table_name"],
        "delete_events": ["self", "run_id"],
        "register_instance": ["self", "instance"],
        "wipe": ["self"],
        "upgrade": ["self"],
        "dispose": ["self"],
    }
    for name, params in expected.items():
        assert list(inspect.signature(getattr(base, name)).parameters) == params, name
    # the attributes its __init__ sets and the subclass uses
    source = inspect.getsource(base.__init__)
    for attr in ("self._base_dir", "self._initialized_dbs", "self._db_lock"):
        assert attr in source, attr
    # _connect is a context manager (yielding one SQLAlchemy connection to a shard)
    assert hasattr(base._connect, "__wrapped__") and "yield" in inspect.getsource(base._connect)
    from dagster_project.dagster_private import PooledSqliteEventLogStorage, SqliteEventLogStorage

    assert SqliteEventLogStorage is base and issubclass(PooledSqliteEventLogStorage, base)


def test_both_module_names_of_the_storage_load_it(tmp_path):
    """deploy/dagster.yaml names dagster_private; an instance whose dagster.yaml was copied before (make
    install copies it with ``cp -n``) names instance_storage, which re-exports the same class."""
    from dagster_project.dagster_private import PooledSqliteEventLogStorage

    deployed = yaml.safe_load((PROJECT_DIR / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))
    assert deployed["event_log_storage"]["module"] == "dagster_project.dagster_private"
    for module in ("dagster_project.dagster_private", "dagster_project.instance_storage"):
        home = tmp_path / module
        home.mkdir()
        shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", home / "dagster.yaml")
        config = (home / "dagster.yaml").read_text(encoding="utf-8")
        (home / "dagster.yaml").write_text(
            config.replace("module: dagster_project.dagster_private", f"module: {module}"), encoding="utf-8"
        )
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.event_log_storage) is PooledSqliteEventLogStorage


def test_the_dbt_resource_methods_it_overrides_are_there_and_called():
    from dagster_dbt import DbtCliResource

    # a cached property read as an attribute (self._cli_version.major): the override is one too
    assert isinstance(DbtCliResource.__dict__["_cli_version"], functools.cached_property)
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == ["self", "args"]
    cli = inspect.getsource(DbtCliResource.cli)
    assert "self._initialize_dbt_core_adapter(" in cli and "self._cli_version" in cli

    from dagster_project.dagster_private import DbtCliResourceWithoutAdapter
    from dagster_project.defs.dbt.assets import PfpwDbtCliResource, dbt_resource

    assert issubclass(PfpwDbtCliResource, DbtCliResourceWithoutAdapter)
    assert issubclass(DbtCliResourceWithoutAdapter, DbtCliResource)
    assert dbt_resource._initialize_dbt_core_adapter(["build"]) is None
    assert dbt_resource._cli_version.major == 1


def test_the_dbt_process_gets_the_variables_it_is_given_and_this_process_keeps_its_own(tmp_path, monkeypatch):
    """``DbtCliResourceWithoutAdapter.cli(env=...)``: dagster-dbt builds dbt's environment from ``os.environ``
    inside ``cli``, which starts the process (no parameter for it); the variables last the call only."""
    from dagster_dbt import DbtCliResource

    cli = inspect.getsource(DbtCliResource.cli)
    assert "**os.environ.copy()" in cli and "DbtCliInvocation.run(" in cli and "env=env" in cli

    from dagster_project.defs.dbt.assets import PfpwDbtCliResource
    from dagster_project.defs.dbt.project import dbt_project

    seen = tmp_path / "env.txt"
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text(f'#!/bin/sh\nenv > "{seen}"\n', encoding="utf-8")
    fake_dbt.chmod(0o755)
    monkeypatch.setenv("PFPW_WAREHOUSE_DIR", "/the/outer/one")
    monkeypatch.setenv("PFPW_CHANGED_MONTHS", "stale")
    before = dict(__import__("os").environ)
    dbt = PfpwDbtCliResource(project_dir=dbt_project, dbt_executable=str(fake_dbt))
    invocation = dbt.cli(
        ["build"],
        env={"PFPW_WAREHOUSE_DIR": "/the/run/s", "PFPW_CHANGED_MONTHS": None},
        target_path=tmp_path / "target",
        raise_on_error=False,
    )
    invocation.wait()
    child = dict(line.split("=", 1) for line in seen.read_text(encoding="utf-8").splitlines() if "=" in line)
    assert child["PFPW_WAREHOUSE_DIR"] == "/the/run/s"
    assert "PFPW_CHANGED_MONTHS" not in child
    assert child["DAGSTER_DBT_CLI"] == "true"  # dagster-dbt's own, beside ours
    assert dict(__import__("os").environ) == before


def test_the_fork_server_it_restarts_is_where_it_was():
    """``restart_fork_server``: Python's module-level fork server and its ``_stop`` (no public restart)."""
    import multiprocessing.forkserver as forkserver

    from dagster_project.dagster_private import restart_fork_server

    assert callable(forkserver._forkserver._stop)
    ctx = __import__("multiprocessing").get_context("forkserver")
    queue = ctx.Queue()
    first = ctx.Process(target=queue.put, args=(1,))
    first.start()
    assert queue.get(timeout=60) == 1
    first.join()
    server = forkserver._forkserver._forkserver_pid
    assert server is not None
    restart_fork_server()
    assert forkserver._forkserver._forkserver_pid is None  # the next process starts a new server
    restart_fork_server()  # none running: nothing to do


def test_the_tick_and_instigator_types_the_daemon_test_reads_are_there():
    from dagster_project.dagster_private import InstigatorType, TickStatus

    assert InstigatorType.SENSOR.value == "SENSOR"
    assert {s.value for s in TickStatus} >= {"STARTED", "SKIPPED", "SUCCESS", "FAILURE"}
    with pytest.raises(AttributeError):
        importlib.import_module("dagster_project.dagster_private").NoSuchName  # noqa: B018


def test_a_step_event_names_its_top_level_node():
    """``step_node_name``: a graph-backed asset's steps (an op inside the graph) are the graph's."""
    from dagster_project.dagster_private import step_node_name

    @dg.op
    def inner():
        return 1

    @dg.graph_asset
    def outer():
        return inner()

    @dg.asset
    def plain():
        return 2

    result = dg.materialize([outer, plain])
    nodes = {
        e.step_key: step_node_name(e)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_START
    }
    assert nodes == {"outer.inner": "outer", "plain": "plain"}
