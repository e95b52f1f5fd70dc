import shutil
from pathlib import Path

import pytest

from dagster_project.ingest.run import MonthReport, ingest_landing_zone
from dagster_project.lake import Lake
from dagster_project.settings import PROJECT_DIR
from tests import factories
from tests.nightly import environment, instance_for_test

SAMPLE = PROJECT_DIR / "sources"
TEST_KEY = b"test-key"
# the marts the dbt project defines (one model file each): what the definitions, lineage and publication must show
MARTS = frozenset(p.stem for p in (PROJECT_DIR / "dbt" / "models" / "marts").glob("*.sql"))

# The suite's longest units (an xdist group, or a test on its own), longest first, as measured in a fresh-clone
# CI on the 2-core machine (seconds of one worker). `make test` runs `--dist loadgroup --no-loadscope-reorder`:
# xdist then hands the units out in collection order, and this order puts the long ones first (longest
# processing time first), so that the suite does not end with one worker finishing a long unit handed out
# last while the other idles (42 min 44 s instead of 33 in one CI of 2026-12-01). Every other test keeps its
# place after them.
LONG_UNITS = (
    "spark_parity",  # ~830 s: the Spark builds
    "sample_run",  # ~750 s: one pfpw run of the sample and the tests reading it
    "tests/test_nightly_invariant.py::test_random_nights_equal_a_fresh_build[159]",  # ~450 s (multiprocess)
    "tests/test_nightly_invariant.py::test_random_nights_equal_a_fresh_build[68]",  # ~355 s
    "small_run",  # ~330 s
    "targets_nights",  # ~330 s: a small zone run cold, then targets.csv delivered, nothing new, one target changed
    "two_districts",  # ~320 s
    "daemon",  # ~280 s
    "postgres",  # ~250 s: a real cluster, the daemon's sensor night on it
    "dead_runs",  # ~70-165 s: a pfpw run killed, then the next one
    "hostile_run",  # ~80-160 s: one pfpw run over every hostile delivery at once
    "ui_door",  # ~50-100 s: make serve behind its proxy
    "tests/test_deliveries.py::test_a_real_run_serves_the_statuses_and_warns_per_agency",  # ~110 s
    "tests/test_incremental_models.py::test_an_incremental_rerun_of_the_changed_months_equals_a_full_rebuild",
    "tests/test_incremental_base_models.py::test_incremental_base_models_equal_a_full_rebuild",  # ~80-135 s
    "ui",
    "sample_lake",
)


# The tiers (docs/tests.md), in this one place. `make test` runs `-m "not slow"` (FAST_TIER): lint, the unit tests,
# the sample run end to end with the golden figures and every test reading it, the UI, one random-night sequence;
# `make test-all` (what .ci/run runs) runs every test. Marked `slow`, so run by `make test-all` only: each test
# whose xdist group, module or node id is named here (seconds of one worker as in LONG_UNITS). A group named
# in part (sample_run: test_bi) still builds its fixture once for the tests of the fast tier.
FAST_TIER = "not slow"
SLOW = (
    "spark_parity",  # ~830 s: the Spark builds (.spark-venv)
    "tests/test_bi.py",  # ~60-70 s in the sample_run group: Superset (.bi-venv)
    "tests/test_nightly_invariant.py::test_random_nights_equal_a_fresh_build[159]",  # ~450 s: [68] is in the fast tier
    "small_run",  # ~330 s: what `pfpw run` prints, nothing new, a corrected file, re-keying, on their own runs
    "targets_nights",  # ~330 s: four runs on one warehouse, targets.csv absent, delivered, unchanged, changed
    "two_districts",  # ~320 s: the multiprocess executor against the in-process one
    "daemon",  # ~280 s: a real dagster-daemon
    "hostile_run",  # ~80-160 s: one pfpw run over every hostile delivery (each is also a fast unit test)
    "tests/test_deliveries.py::test_a_real_run_serves_the_statuses_and_warns_per_agency",  # ~110 s
    # ~85 s: three dbt builds; the fast tier's random nights (seed 68) run incremental nights against fresh builds
    "tests/test_incremental_models.py::test_an_incremental_rerun_of_the_changed_months_equals_a_full_rebuild",
    "tests/test_incremental_base_models.py",  # ~80-135 s: the base models' incremental nights, as above
    "tests/test_ui_door.py::test_make_serve_asks_for_the_password_and_keeps_the_webserver_on_loopback",  # nginx
    "tests/test_dead_runs.py::test_a_killed_pfpw_run_is_failed_by_the_next_one_which_succeeds",  # two runs
    "tests/test_postgres_instance.py::test_the_daemon_runs_a_sensor_night_on_postgresql_and_the_ui_shows_it",
)
# every unit collected and every entry of SLOW that named a test, before `-m` deselects any (tests/test_xdist_groups.py
# and tests/test_tiers.py check, in a run of the whole suite, that every name still names something)
COLLECTED_UNITS = pytest.StashKey[list]()
MATCHED_SLOW = pytest.StashKey[set]()


def xdist_unit(item: pytest.Item) -> str:
    """What pytest-xdist's loadgroup schedules as one unit: the test's group, else the test itself."""
    for mark in item.iter_markers("xdist_group"):
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    return item.nodeid.split("@")[0]


def tier_entries(item: pytest.Item) -> list[str]:
    """The entries of SLOW that name this test: its xdist group, its module or its node id."""
    nodeid = item.nodeid.split("@")[0]
    unit = xdist_unit(item)
    return [e for e in SLOW if e in (unit, nodeid) or nodeid.startswith(e + "::")]


def pytest_collection_modifyitems(config, items):
    # conftest's hook runs before pytest's own, which deselects by `-m`: the marks added here are seen
    rank = {unit: i for i, unit in enumerate(LONG_UNITS)}
    items.sort(key=lambda item: rank.get(xdist_unit(item), len(rank)))  # stable: a group keeps its order
    config.stash[COLLECTED_UNITS] = list(dict.fromkeys(xdist_unit(item) for item in items))
    config.stash[MATCHED_SLOW] = matched = set()
    for item in items:
        if entries := tier_entries(item):
            matched.update(entries)
            item.add_marker(pytest.mark.slow)


def whole_suite(config: pytest.Config) -> bool:
    """The run collected the whole suite (`make test` or `make test-all`), whatever `-m` then deselected."""
    option = config.option
    return not (option.file_or_dir or option.keyword) and option.markexpr in ("", FAST_TIER)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test reads or writes the developer's warehouse or Dagster instance."""
    monkeypatch.setenv("PFPW_PII_KEY", TEST_KEY.decode())
    monkeypatch.delenv("PFPW_SOURCES_DIR", raising=False)
    monkeypatch.delenv("PFPW_WAREHOUSE_DIR", raising=False)


def ingest_all(sources: Path, warehouse: Path, key: bytes = TEST_KEY) -> MonthReport:
    """Ingestion without Dagster: reference, inventory, every agency and month, consolidated ledger."""
    return ingest_landing_zone(sources, Lake(warehouse), key)


@pytest.fixture
def small_zone(tmp_path) -> Path:
    src = tmp_path / "sources"
    factories.write_reference(src)
    return src


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory) -> Path:
    """The shipped sample, ingested once (no Dagster), for row-level make-up tests."""
    wh = tmp_path_factory.mktemp("sample_lake")
    ingest_all(SAMPLE, wh)
    return wh


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """`pfpw run` on a copy of the shipped sample: the real pipeline, end to end, once per test worker."""
    from dagster_project.cli import main

    base = tmp_path_factory.mktemp("sample_run")
    sources = base / "sources"
    shutil.copytree(SAMPLE, sources)
    warehouse = base / "warehouse"
    with environment(DAGSTER_HOME=str(base / "dagster_home"), PFPW_PII_KEY=TEST_KEY.decode()):
        code = main(["run", "--sources", str(sources), "--warehouse", str(warehouse)])
    return {"code": code, "sources": sources, "warehouse": warehouse, "dagster_home": base / "dagster_home"}


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster_home").mkdir()
    with instance_for_test(tmp_path / "dagster_home") as inst:
        yield inst
