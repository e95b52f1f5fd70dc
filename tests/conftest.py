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
