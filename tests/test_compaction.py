"""The lake is compacted per extract, month and segment (a work unit's district, ``all`` for the
court's and finance's files), with the source file as a column; replace-by-file stays exact.

Each test compares the lake an incremental ingestion leaves with a fresh ingestion of the same
landing zone, row for row, in every area (data, quarantine, ledger).
"""

import shutil

import polars as pl
import pytest

from dagster_project import lake as lake_module
from dagster_project.lake import Lake
from tests.conftest import ingest_all
from tests.nightly import small_zone
from tests.test_executors import _lake

M = "2012-03"


@pytest.fixture
def zone(tmp_path):
    return small_zone(tmp_path / "sources", townships=3)


def _segment_rows(wh, extract: str, month: str) -> pl.DataFrame:
    return pl.concat(
        [pl.read_parquet(p) for p in (wh / "lake" / extract / f"month={month}").glob("*.parquet")]
    )


def test_one_parquet_file_per_extract_month_and_district(zone, tmp_path):
    wh = tmp_path / "wh"
    report = ingest_all(zone, wh)
    assert report.files_ingested > 200
    for extract, segment, files in (
        ("township_births", "331003", 3),  # three townships' workbooks of one district
        ("township_population", "331003", 3),
        ("court_enforcement_cases", "all", 1),
        ("finance_fee_decisions", "all", 1),
    ):
        folder = wh / "lake" / extract / f"month={M}"
        assert [p.name for p in folder.glob("*.parquet")] == [f"{segment}.parquet"], extract
        assert pl.read_parquet(folder / f"{segment}.parquet")["source_file"].n_unique() == files, extract
        ledger = pl.read_parquet(wh / "ledger" / extract / f"month={M}" / f"{segment}.parquet")
        assert ledger.height == files and ledger["source_file"].is_unique().all()
    data_files = [p for p in (wh / "lake").rglob("month=*/*.parquet")]
    delivered = [p for p in zone.rglob("*") if p.is_file() and "reference" not in p.parts]
    assert len(data_files) < len(delivered) / 2


def test_a_corrected_file_replaces_exactly_its_rows_after_compaction(zone, tmp_path):
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    before = _segment_rows(wh, "township_births", M)
    books = sorted((zone / "township" / M).glob("*.xlsx"))
    corrected, others = books[0], books[1:]
    # the township re-delivers March with other contents (here: its February workbook)
    shutil.copy(zone / "township" / "2012-02" / corrected.name, corrected)
    report = ingest_all(zone, wh)
    assert (report.files_ingested, report.files_removed) == (1, 0)

    after = _segment_rows(wh, "township_births", M)
    rel = f"township/{M}/{corrected.name}"
    for other in others:  # the segment's other files keep their rows, exactly
        o = f"township/{M}/{other.name}"
        assert after.filter(pl.col("source_file") == o).equals(before.filter(pl.col("source_file") == o))
    assert not after.filter(pl.col("source_file") == rel).equals(before.filter(pl.col("source_file") == rel))
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh"))


def test_a_withdrawn_file_leaves_its_segment_and_nothing_else(zone, tmp_path):
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    books = sorted((zone / "township" / M).glob("*.xlsx"))
    before = _segment_rows(wh, "township_population", M)
    books[1].unlink()
    report = ingest_all(zone, wh)
    assert report.files_removed == 3  # its births, population and village classes
    after = _segment_rows(wh, "township_population", M)
    gone = f"township/{M}/{books[1].name}"
    assert after.equals(before.filter(pl.col("source_file") != gone))
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh"))
    for book in (books[0], books[2]):  # the last files of the month withdrawn: the segment goes
        book.unlink()
    ingest_all(zone, wh)
    assert not list((wh / "lake" / "township_births" / f"month={M}").glob("*.parquet"))
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh2"))


def test_a_run_killed_before_the_ledger_segment_is_mended_by_the_next(zone, tmp_path, monkeypatch):
    """Data segments written, ledger segment not (the commit marker): the next run replaces the files again."""
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    corrected = sorted((zone / "township" / M).glob("*.xlsx"))[0]
    shutil.copy(zone / "township" / "2012-02" / corrected.name, corrected)
    real = lake_module._replace_segment

    def killed(path, *args, **kwargs):
        if "ledger" in path.relative_to(wh).parts:
            raise KeyboardInterrupt("killed")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(lake_module, "_replace_segment", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest_all(zone, wh)
    monkeypatch.setattr(lake_module, "_replace_segment", real)
    report = ingest_all(zone, wh)
    assert report.files_ingested == 1  # the ledger did not promise the corrected file
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh"))


def test_a_lake_of_the_per_file_layout_is_ingested_again(zone, tmp_path):
    """Layout 1 (one Parquet file per source file) is not read as segments: it is removed and rebuilt."""
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    lake = Lake(wh)
    stray = wh / "lake" / "township_births" / f"month={M}" / "331003001.parquet"
    shutil.copy(wh / "lake" / "township_births" / f"month={M}" / "331003.parquet", stray)
    lake.layout_path.write_text("1\n")
    report = ingest_all(zone, wh)
    assert report.files_unchanged == 0 and report.files_ingested > 200
    assert not stray.exists()
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh"))


def _fresh(zone, wh):
    ingest_all(zone, wh)
    return wh


def test_a_hospital_moved_to_another_district_moves_its_rows_to_that_segment(zone, tmp_path):
    """The reference puts a hospital in another district's township: its files' rows leave the old
    segment (the plan's, like a withdrawal) and the unit of the new one ingests them."""
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    hospitals = zone / "reference" / "hospitals.csv"
    lines = hospitals.read_text(encoding="utf-8").splitlines()
    code = lines[1].split(",")[0]
    lines[1] = ",".join([*lines[1].split(",")[:2], "331004001"])
    hospitals.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (zone / "reference" / "townships.csv").open("a", encoding="utf-8") as f:
        f.write("331004001,新城街道,街道\n")
    ingest_all(zone, wh)
    moved = pl.read_parquet(wh / "lake" / "hospital_births" / f"month={M}" / "331004.parquet")
    assert set(moved["source_file"]) == {
        f"hospital/{M}/{p.name}" for p in (zone / "hospital" / M).glob(f"{code}_births.csv")
    }
    stayed = pl.read_parquet(wh / "lake" / "hospital_births" / f"month={M}" / "331003.parquet")
    assert not set(stayed["source_file"]) & set(moved["source_file"])
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh"))
