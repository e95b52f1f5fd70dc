"""One place for settings: ``Settings.from_env`` alone reads the environment in ``dagster_project/``, nothing
writes the running process's environment but the three documented exceptions, and the README lists exactly
the settings, with their defaults, as the object has them."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from pathlib import Path

import pytest

from dagster_project import settings
from dagster_project.settings import PROJECT_DIR, Settings

PACKAGE = PROJECT_DIR / "dagster_project"
# (module, function): where os.environ may be read, and where it may be written, each for its reason
READERS = {
    ("settings.py", "from_env"),  # the settings, the one place
    ("locks.py", "_held_by_my_run"),  # the run lock's token its own step processes inherit
    ("locks.py", "run_lock"),
    ("dagster_private.py", "_child_environment"),  # the variables dbt's process is given, restored after
}
WRITERS = {
    ("locks.py", "run_lock"),
    ("settings.py", "quiet_great_expectations"),  # GX reads its analytics switch when imported
    ("dagster_private.py", "_child_environment"),
}
ENV_FUNCTIONS = {"getenv", "putenv", "unsetenv", "getenvb", "environb"}
MUTATORS = {"pop", "setdefault", "update", "clear", "popitem", "__setitem__", "__delitem__"}
# PFPW_ names in the package's code that are not settings: the run lock's token (locks.py), and the months
# an incremental night gives dbt's process (defs/dbt/assets.py: dbt_env)
NOT_SETTINGS = {"PFPW_WRITER_TOKEN", "PFPW_CHANGED_MONTHS"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _environment_uses(path: Path) -> list[tuple[str, str, int, str]]:
    """Every use of the process's environment in ``path``: (function, "read"/"write", line, what)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def function_of(node: ast.AST) -> str:
        """The outermost function ``node`` is in (a helper nested in an allowed function is that function's)."""
        name = "<module>"
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = node.name
        return name

    found = []
    for node in ast.walk(tree):
        # `from os import environ, getenv`: an alias this scan would not follow
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {a.name for a in node.names} & ({"environ"} | ENV_FUNCTIONS)
            if names:
                found.append((function_of(node), "read", node.lineno, f"from os import {', '.join(names)}"))
        if not (
            isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
        ):
            continue
        if node.attr in ("putenv", "unsetenv"):
            found.append((function_of(node), "write", node.lineno, f"os.{node.attr}"))
        elif node.attr in ENV_FUNCTIONS:
            found.append((function_of(node), "read", node.lineno, f"os.{node.attr}"))
        elif node.attr == "environ":
            parent = parents.get(node)
            stored = isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store | ast.Del)
            mutated = isinstance(parent, ast.Attribute) and parent.attr in MUTATORS
            found.append(
                (function_of(node), "write" if stored or mutated else "read", node.lineno, "os.environ")
            )
    return found


def test_only_the_settings_read_the_environment_and_nothing_writes_it_but_the_named_exceptions():
    reads, writes = [], []
    for path in _modules():
        for function, kind, line, what in _environment_uses(path):
            where = (path.name, function)
            if kind == "read" and where not in READERS and where not in WRITERS:
                reads.append(f"{path.relative_to(PROJECT_DIR)}:{line} {function}: {what}")
            if kind == "write" and where not in WRITERS:
                writes.append(f"{path.relative_to(PROJECT_DIR)}:{line} {function}: {what}")
    assert not reads, "read the environment outside Settings.from_env:\n" + "\n".join(reads)
    assert not writes, "write the process's environment:\n" + "\n".join(writes)


def test_the_scan_sees_reads_and_writes(tmp_path):
    """The scan above is not blind: every form it forbids is found."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\nfrom os import getenv\n"
        "def f():\n"
        "    os.environ['A'] = '1'\n    os.environ.pop('A')\n    del os.environ['B']\n"
        "    os.environ.setdefault('C', '')\n    os.putenv('D', '')\n"
        "    return os.environ.get('E'), os.getenv('F'), os.environ['G']\n",
        encoding="utf-8",
    )
    uses = _environment_uses(probe)
    assert [u[1] for u in uses].count("write") == 5
    assert [u[1] for u in uses].count("read") == 4  # the import, os.environ.get, os.getenv, os.environ[...]
    assert {u[0] for u in uses} == {"f", "<module>"}


def test_every_pfpw_variable_the_package_names_is_a_setting():
    """A PFPW_ variable in the package's code (a message, a docstring aside) is a field of Settings, or one
    of the two that are not settings."""
    fields = {f.metadata["var"] for f in dataclasses.fields(Settings)}
    named = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named |= set(re.findall(r"\bPFPW_[A-Z_]*[A-Z]\b", node.value))
    assert named - fields - NOT_SETTINGS == set()
    assert fields <= named | {"DAGSTER_HOME"}  # and every setting is used somewhere


def test_the_readme_lists_exactly_the_settings_with_their_defaults():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert settings.readme_section(readme) == settings.markdown_table(), (
        "the README's settings table is not the object's: paste `python -m dagster_project.settings --markdown` "
        f"between {settings.README_BEGIN} and {settings.README_END}"
    )
    variables = re.findall(r"^\| `([A-Z_]+)` \|", settings.readme_section(readme), flags=re.M)
    assert variables == [f.metadata["var"] for f in dataclasses.fields(Settings)]
    assert len(readme.splitlines()) <= 250


def test_defaults_and_values_from_a_given_environment(tmp_path):
    default = Settings.from_env({})
    assert default.sources_dir == Path("sources").resolve()
    assert default.warehouse_dir == Path("warehouse").resolve()
    assert default.dagster_home == PROJECT_DIR / ".dagster"
    assert (default.executor, default.ingest_fanout, default.engine) == ("in_process", "auto", "duckdb")
    assert default.workers == (os.cpu_count() or 1)
    assert (default.duckdb_memory_limit, default.max_row_drop_share) == ("2500MB", 0.10)
    assert (default.max_file_bytes, default.max_workbook_cells) == (256 * 1024 * 1024, 5_000_000)
    assert (default.as_of, default.expect_deliveries_until, default.sensor_interval_seconds) == (
        "",
        "latest",
        60,
    )
    assert (default.failpoint, default.failpoint_marker, default.failpoint_sleep) == ("", "", 600.0)
    with pytest.raises(settings.MissingPiiKey, match="PFPW_PII_KEY"):
        default.key()

    given = Settings.from_env(
        {
            "PFPW_SOURCES_DIR": str(tmp_path / "zone"),
            "PFPW_PII_KEY": " a key ",
            "PFPW_EXECUTOR": " multiprocess ",
            "PFPW_WORKERS": " 3 ",
            "PFPW_INGEST_FANOUT": "district-month",
            "PFPW_ENGINE": " Spark ",
            "PFPW_MAX_FILE_BYTES": "4_096",
            "PFPW_MAX_ROW_DROP_SHARE": "0.3",
            "PFPW_DUCKDB_MEMORY_LIMIT": "  ",  # blank: the default
            "PFPW_SENSOR_INTERVAL_SECONDS": "5",
        }
    )
    assert given.sources_dir == tmp_path / "zone"
    assert given.key() == b" a key "  # as given: the key is never altered
    assert (given.executor, given.workers, given.ingest_fanout, given.engine) == (
        "multiprocess",
        3,
        "district-month",
        "spark",
    )
    assert (given.max_file_bytes, given.max_row_drop_share, given.duckdb_memory_limit) == (
        4096,
        0.3,
        "2500MB",
    )
    assert given.sensor_interval_seconds == 5
    assert Settings.from_env({"PFPW_EXECUTOR": "in-process"}).executor == "in_process"
    assert "a key" not in repr(given)  # the key never in a log line


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("PFPW_EXECUTOR", "threads", "one of in_process, multiprocess"),
        ("PFPW_WORKERS", "0", "a whole number, at least 1"),
        ("PFPW_INGEST_FANOUT", "month", "one of auto, agency, district, district-month"),
        ("PFPW_ENGINE", "snowflake", "one of duckdb, spark"),
        ("PFPW_MAX_ROW_DROP_SHARE", "2", "a share between 0 and 1"),
        ("PFPW_MAX_WORKBOOK_CELLS", "many", "a whole number, at least 1"),
    ],
)
def test_a_value_that_is_not_one_of_a_settings_names_its_variable(variable, value, says):
    with pytest.raises(ValueError, match=re.escape(f"{variable}=") + ".*" + re.escape(says)):
        Settings.from_env({variable: value})


def test_the_paths_resource_gives_the_run_config_before_the_environment(monkeypatch, tmp_path):
    from dagster_project.defs.resources import PfpwPaths

    monkeypatch.setenv("PFPW_WAREHOUSE_DIR", str(tmp_path / "from_env"))
    monkeypatch.setenv("PFPW_WORKERS", "5")
    configured = PfpwPaths(sources_dir=str(tmp_path / "zone"), workers=2)
    assert configured.sources == tmp_path / "zone"
    assert configured.warehouse == tmp_path / "from_env"
    assert configured.settings.workers == 2
    assert PfpwPaths().settings.workers == 5


def test_pfpw_run_refuses_a_bad_setting_and_leaves_the_environment_as_it_was(monkeypatch, capsys, tmp_path):
    from dagster_project.cli import main

    before = dict(os.environ)
    monkeypatch.setenv("PFPW_EXECUTOR", "threads")
    assert main(["run", "--sources", str(tmp_path)]) == 2
    assert "PFPW_EXECUTOR='threads': one of in_process, multiprocess" in capsys.readouterr().err
    monkeypatch.delenv("PFPW_EXECUTOR")
    assert main(["run", "--sources", str(tmp_path), "--workers", "0"]) == 2
    assert "--workers 0" in capsys.readouterr().err
    assert dict(os.environ) == before
