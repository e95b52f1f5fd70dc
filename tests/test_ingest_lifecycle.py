"""Re-delivery replaces, an unchanged re-run does nothing, unknown files are listed, a new key re-ingests."""

import polars as pl

from dagster_project.ingest.run import ignored_ledger, unknown_files
from dagster_project.lake import Lake
from tests import factories as f
from tests.conftest import ingest_all
from tests.test_ingest_faults import lake_rows

M = "2012-03"


def test_redelivery_replaces_rows_and_unchanged_rerun_reads_nothing(small_zone, tmp_path):
    wh = tmp_path / "wh"
    book = small_zone / "township" / M / f"{f.T1}.xlsx"
    f.write_workbook(book, births=[f.birth_row("R1"), f.birth_row("R2", sex="男"), f.birth_row("R3")])
    f.write_workbook(
        small_zone / "township" / "2012-04" / f"{f.T1}.xlsx",
        births=[f.birth_row("R9", birth="2012-04-02", registered="2012-04-03")],
    )
    first = ingest_all(small_zone, wh)
    assert first.files_ingested == 2
    assert sorted(lake_rows(wh, "township_births")["registration_id"]) == ["R1", "R2", "R3", "R9"]

    again = ingest_all(small_zone, wh)
    assert (again.files_ingested, again.files_unchanged, again.rows_read) == (0, 2, 0)

    # the township corrects March: R2's sex, R3 withdrawn, R4 added
    f.write_workbook(book, births=[f.birth_row("R1"), f.birth_row("R2", sex="女"), f.birth_row("R4")])
    third = ingest_all(small_zone, wh)
    assert (third.files_ingested, third.files_unchanged) == (1, 1)
    births = lake_rows(wh, "township_births").sort("registration_id")
    assert births["registration_id"].to_list() == ["R1", "R2", "R4", "R9"]  # no duplicates, no mix
    assert births.filter(pl.col("registration_id") == "R2")["sex"].item() == "女"
    led = Lake(wh).ledger().filter(pl.col("extract") == "township_births")
    assert led.height == 2  # one ledger row per file and extract, the current version's


def test_a_withdrawn_file_leaves_the_lake(small_zone, tmp_path):
    wh = tmp_path / "wh"
    path = small_zone / "finance" / M / "fee_payments.csv"
    f.write_finance(path, f.PAYMENT_HEADER, [["R1", "D1", "2012-03-02", "100.00", "现金"]])
    ingest_all(small_zone, wh)
    assert lake_rows(wh, "finance_fee_payments").height == 1
    path.unlink()
    report = ingest_all(small_zone, wh)
    assert report.files_removed == 1
    assert lake_rows(wh, "finance_fee_payments").height == 0


def test_a_new_key_reingests_everything(small_zone, tmp_path):
    wh = tmp_path / "wh"
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx")
    ingest_all(small_zone, wh, key=b"one")
    before = lake_rows(wh, "township_births")["mother_person_key"].to_list()
    report = ingest_all(small_zone, wh, key=b"two")
    assert report.files_ingested == 1
    after = lake_rows(wh, "township_births")["mother_person_key"].to_list()
    assert before != after and len(after) == 1


def test_unknown_files_are_listed_as_ignored_never_fatal(small_zone, tmp_path):
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx")
    (small_zone / "township" / M / "readme.txt").write_text("说明", encoding="utf-8")
    (small_zone / "hospital" / M).mkdir(parents=True)
    (small_zone / "hospital" / M / "H01_deaths.csv").write_text("x", encoding="utf-8")
    (small_zone / "police").mkdir()
    (small_zone / "police" / "cases.csv").write_text("x", encoding="utf-8")
    (small_zone / "court" / "2012-3").mkdir(parents=True)
    (small_zone / "court" / "2012-3" / "liangfei_cases.jsonl").write_text("", encoding="utf-8")
    found = dict(unknown_files(small_zone))
    assert set(found) == {
        f"township/{M}/readme.txt",
        f"hospital/{M}/H01_deaths.csv",
        "police/cases.csv",
        "court/2012-3/liangfei_cases.jsonl",
    }
    assert "unknown folder" in found["police/cases.csv"]
    ledger = ignored_ledger(small_zone, "run-1")
    assert set(ledger["status"]) == {"ignored"} and ledger["sha256"].null_count() == 0
    report = ingest_all(small_zone, tmp_path / "wh")  # the known file still loads
    assert report.rows_loaded == 3


def test_a_lake_written_by_an_older_version_is_read_again_not_trusted(small_zone, tmp_path):
    """A ledger entry of another layout (here: written before the ledger had delivered_at) is no proof
    the file is in the lake as this version writes it: the file is ingested again, and the
    consolidated ledger has this version's columns."""
    wh = tmp_path / "wh"
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx")
    ingest_all(small_zone, wh)
    old = sorted((wh / "ledger").rglob("*.parquet"))
    old = [p for p in old if not p.name.startswith("_") and pl.read_parquet(p).height]
    assert old
    for path in old:
        pl.read_parquet(path).drop("delivered_at").write_parquet(path)
    report = ingest_all(small_zone, wh)
    assert report.files_ingested == 1 and report.files_unchanged == 0
    ledger = Lake(wh).ledger()
    assert "delivered_at" in ledger.columns and ledger["delivered_at"].null_count() == 0
