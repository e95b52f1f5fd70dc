"""Write-audit-publish: failed audits and planted personal data never reach the served file."""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish import PublicationBlocked, publish
from tests.conftest import MARTS, TEST_KEY
from tests.processes import pfpw_command
from tests.test_privacy import source_names

pytestmark = pytest.mark.xdist_group("sample_run")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_run(sample_run, tmp_path) -> tuple[Path, Path]:
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse"
    shutil.copytree(sample_run["sources"], sources)
    shutil.copytree(sample_run["warehouse"], warehouse)
    return sources, warehouse


def pfpw_run(sources: Path, warehouse: Path, home: Path, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "DAGSTER_HOME": str(home), "PFPW_PII_KEY": TEST_KEY.decode(), **env}
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        pfpw_command(sources, warehouse),
        env=full,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_sample_run_published_marts_audit_tables_and_parquet(sample_run):
    wh = sample_run["warehouse"]
    con = duckdb.connect(str(wh / "serving.duckdb"), read_only=True)
    tables = {(s, t) for s, t in con.sql("select schema_name, table_name from duckdb_tables()").fetchall()}
    passed, total = con.sql(
        "select count(*) filter (where passed), count(*) from audit.audit_results"
    ).fetchone()
    served_run = con.sql("select run_id from audit.publication").fetchone()
    con.close()
    assert {
        ("marts", "fee_collection"),
        ("audit", "ingest_ledger"),
        ("audit", "quarantine_summary"),
        ("audit", "unmatched_links_by_file"),
        ("audit", "superseded_rows_by_file"),
        ("audit", "out_of_district_rows_by_file"),
        ("audit", "publication"),
        ("audit", "audit_results"),
    } <= tables
    # person-level rows (quarantined records, record keys) are in the data team's file only
    person_level = {"quarantine_rows", "unmatched_links", "superseded_rows", "out_of_district_rows"}
    assert not {t for s, t in tables if t in person_level}
    team = duckdb.connect(str(wh / "data_team.duckdb"), read_only=True)
    team_tables = {
        t
        for (t,) in team.sql("select table_name from duckdb_tables() where schema_name = 'audit'").fetchall()
    }
    assert person_level | {"ingest_ledger", "quarantine_summary", "publication"} <= team_tables
    assert team.sql("select run_id from audit.publication").fetchone() == served_run
    team.close()
    assert total > 60 and passed >= total - 2  # at most the plausibility warnings may fail
    assert {p.stem for p in (wh / "serving").glob("*.parquet")} == MARTS  # one Parquet file a mart
    assert not list(wh.glob(".serving-*"))  # no temporary left behind


def test_a_failed_audit_leaves_the_served_file_byte_identical(sample_run, tmp_path):
    """A whole year of deliveries lost: every township mart loses half its rows, the row-count expectation fails."""
    sources, warehouse = copy_run(sample_run, tmp_path)
    before = sha(warehouse / "serving.duckdb")
    for agency in ("township", "hospital", "court", "finance"):
        for month in sources.joinpath(agency).glob("2011-*"):
            shutil.rmtree(month)
    result = pfpw_run(sources, warehouse, tmp_path / "home")
    assert result.returncode != 0, result.stdout[-2000:]
    assert sha(warehouse / "serving.duckdb") == before
    assert "NOT PUBLISHED" in result.stdout
    assert "FAILED CHECK marts/fee_collection:gx_expectations" in result.stdout
    assert "expect_table_row_count_to_be_between" in result.stdout
    # what the operator needs: the bound, where it comes from, and how to accept a drop that is meant
    failure = next(
        line for line in result.stdout.splitlines() if "marts/fee_collection:gx_expectations" in line
    )
    assert re.search(r"observed \d+, expected ≥ \d+ \(the last publication served \d+ rows", failure), failure
    assert "PFPW_MAX_ROW_DROP_SHARE" in failure


def test_a_corrupted_mart_row_fails_its_suite(sample_run, tmp_path):
    from dagster_project.defs.audits.checks import gx_results
    from dagster_project.defs.resources import PfpwPaths

    _, warehouse = copy_run(sample_run, tmp_path)
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    con.execute(
        "insert into marts.fee_collection select * replace (150.0 as filing_rate) "
        "from marts.fee_collection where year = 2012 limit 1"
    )
    con.close()
    (result,) = gx_results(PfpwPaths(warehouse_dir=str(warehouse)), only={"fee_collection"})
    assert not result.passed
    failed = result.metadata["failed_expectations"].data
    assert any("expect_compound_columns_to_be_unique" in f for f in failed)
    assert any("expect_column_values_to_be_between(filing_rate)" in f for f in failed)


@pytest.mark.parametrize("plant", ["identity", "name"])
def test_the_privacy_scan_blocks_publication(sample_run, tmp_path, plant):
    _, warehouse = copy_run(sample_run, tmp_path)
    before = sha(warehouse / "serving.duckdb")
    value = "331003198801010021" if plant == "identity" else sorted(source_names(sample_run["sources"]))[0]
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    con.execute(
        "update marts.village_indicators set village_name = village_name || ' ' || ? "
        "where village_code = (select min(village_code) from marts.village_indicators)",
        [value],
    )
    con.close()
    with pytest.raises(
        PublicationBlocked, match="identity number" if plant == "identity" else "personal name"
    ):
        publish(warehouse, "planted", [], TEST_KEY)
    assert sha(warehouse / "serving.duckdb") == before
    assert not list(warehouse.glob(".serving-*"))


def test_the_team_s_copies_of_the_served_audit_tables_are_scanned_as_the_served_ones(sample_run, tmp_path):
    """The team file's copies of the served audit tables are made from the served tables and scanned once, as
    those: an identity number in the working database's ingest ledger still blocks publication, named in the
    served table; and after a publication the team's copy holds the served rows, no others."""
    _, warehouse = copy_run(sample_run, tmp_path)
    before = sha(warehouse / "serving.duckdb")
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    con.execute(
        "update audit.ingest_ledger set source_file = source_file || ' 331003198801010021' "
        "where source_file = (select min(source_file) from audit.ingest_ledger)"
    )
    con.close()
    with pytest.raises(
        PublicationBlocked, match=r"table audit\.ingest_ledger \(serving\), column source_file"
    ):
        publish(warehouse, "planted", [], TEST_KEY)
    assert sha(warehouse / "serving.duckdb") == before

    _, clean = copy_run(sample_run, tmp_path / "clean")
    publish(clean, "clean", [], TEST_KEY)
    con = duckdb.connect()
    con.execute(f"attach '{clean / 'serving.duckdb'}' as s (read_only)")
    con.execute(f"attach '{clean / 'data_team.duckdb'}' as t (read_only)")
    for table in ("ingest_ledger", "delivery_status", "quarantine_summary"):
        differ = con.sql(
            f"select count(*) from ((from s.audit.{table} except all from t.audit.{table}) "
            f"union all (from t.audit.{table} except all from s.audit.{table}))"
        ).fetchone()[0]
        assert differ == 0, table
    con.close()


def test_served_file_is_readable_in_the_lts_storage_format(sample_run):
    con = duckdb.connect(str(sample_run["warehouse"] / "serving.duckdb"), read_only=True)
    version = con.sql("select storage_version from audit.publication").fetchone()[0]
    con.close()
    assert version == "v1.0.0"
