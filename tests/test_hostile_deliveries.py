"""Hostile and careless deliveries: no file, name or link can crash, hang or leak (issue 24).

Each case is written by the test itself into a small landing zone beside good files; the good
files load, the bad entry is rejected or ignored by name with the reason, and nothing outside the
landing zone is read. The process survives (a workbook that declares an absurd size used to abort it).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import zipfile
from pathlib import Path

import polars as pl
import pytest

from dagster_project import landing, state
from dagster_project.ingest import workbook
from dagster_project.ingest.run import unknown_files
from dagster_project.lake import Lake
from dagster_project.reference import ReferenceError, load_reference
from tests import factories as f
from tests.conftest import ingest_all

M = "2012-03"


@contextlib.contextmanager
def within(seconds: int):
    """A hang (a FIFO opened, say) becomes this test's failure instead of the suite's."""

    def hung(*_args):
        raise TimeoutError(f"still running after {seconds} s: something waited on the landing zone")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def ledger(wh: Path) -> pl.DataFrame:
    return Lake(wh).ledger()


def row_of(wh: Path, source_file: str) -> dict:
    rows = ledger(wh).filter(pl.col("source_file") == source_file)
    assert rows.height >= 1, sorted(ledger(wh)["source_file"].to_list())
    return rows.row(0, named=True)


def sheet_bomb(good: Path, out: Path) -> None:
    """A copy of a good workbook whose first sheet also has a cell at XFD1048576 (the last cell of a sheet)."""
    zin = zipfile.ZipFile(good)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
                )
            zout.writestr(info.filename, data)
    out.write_bytes(buf.getvalue())


def zone_with_good_files(src: Path) -> None:
    f.write_workbook(src / "township" / M / f"{f.T1}.xlsx")
    f.write_hospital_births(src / "hospital" / M / "H01_births.csv", [f.hospital_row()])
    f.write_jsonl(src / "court" / M / "enforcement_cases.jsonl", [f.enforcement_record()])


def test_a_workbook_declaring_an_absurd_sheet_is_rejected_by_name_and_the_run_goes_on(small_zone, tmp_path):
    zone_with_good_files(small_zone)
    sheet_bomb(small_zone / "township" / M / f"{f.T1}.xlsx", small_zone / "township" / M / f"{f.T2}.xlsx")
    wh = tmp_path / "wh"
    report = ingest_all(small_zone, wh)  # calamine would abort this very process (exit 134)
    bomb = row_of(wh, f"township/{M}/{f.T2}.xlsx")
    assert bomb["status"] == "rejected"
    assert "XFD1048576" in bomb["reason"] and "PFPW_MAX_WORKBOOK_CELLS" in bomb["reason"]
    assert row_of(wh, f"township/{M}/{f.T1}.xlsx")["status"] == "loaded"
    assert (f"township/{M}/{f.T2}.xlsx", bomb["reason"]) in report.rejected
    assert report.rows_loaded > 0


def test_workbook_bounds_a_zip_bomb_and_declared_counts(monkeypatch):
    good = (Path(__file__).parent.parent / "sources" / "township" / "2012-01" / "331003001.xlsx").read_bytes()
    workbook.check(good)  # the shipped sample is well within
    monkeypatch.setattr(workbook, "MAX_UNZIPPED", 10_000)  # counted while decompressing, whatever is declared
    with pytest.raises(workbook.FileRejected, match="decompressed"):
        workbook.check(good)
    monkeypatch.undo()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/sharedStrings.xml", '<sst count="999999999999" uniqueCount="1"></sst>')
    with pytest.raises(workbook.FileRejected, match="declares 999,999,999,999 entries"):
        workbook.check(buf.getvalue())
    with pytest.raises(workbook.FileRejected, match="not a zip archive"):
        workbook.check(b"PK\x03\x04 not really")


def test_only_regular_files_under_the_landing_zone_are_deliveries(small_zone, tmp_path):
    zone_with_good_files(small_zone)
    month = small_zone / "hospital" / M
    os.mkfifo(month / "H02_births.csv")  # opening it would wait for a writer for ever
    outside = tmp_path / "outside"
    f.write_hospital_births(outside / "H01_prepregnancy.csv", [f.hospital_row()])
    (month / "H01_prepregnancy.csv").symlink_to(outside / "H01_prepregnancy.csv")  # a delivery from elsewhere
    (small_zone / "finance" / M).mkdir(parents=True)
    (small_zone / "finance" / M / "fee_decisions.csv").symlink_to("/etc/passwd")
    (small_zone / "finance" / M / "fee_payments.csv").symlink_to("/dev/zero")  # endless if read
    f.write_workbook(outside / "2012-04" / f"{f.T1}.xlsx")
    (small_zone / "township" / "2012-04").symlink_to(outside / "2012-04", target_is_directory=True)
    (small_zone / "township" / M / f"{f.T2}.xlsx").mkdir()  # a folder where a file belongs
    (small_zone / "court" / M / "liangfei_cases.jsonl").unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX)  # a socket named like a delivery
    here = os.getcwd()
    os.chdir(small_zone / "court" / M)  # bound by a relative name: a socket's path is limited to 107 bytes
    try:
        listener.bind("liangfei_cases.jsonl")
    finally:
        os.chdir(here)
    wh = tmp_path / "wh"
    with within(60):
        found = dict(unknown_files(small_zone))
        ingest_all(small_zone, wh)
        state.current_state(small_zone, b"k")
        state.stat_fingerprint(small_zone)
    assert "FIFO" in found[f"hospital/{M}/H02_births.csv"]
    assert "link" in found[f"hospital/{M}/H01_prepregnancy.csv"]
    assert "link" in found[f"finance/{M}/fee_decisions.csv"]
    assert "link" in found[f"finance/{M}/fee_payments.csv"]
    assert "link" in found["township/2012-04"]
    assert "folder where a file belongs" in found[f"township/{M}/{f.T2}.xlsx"]
    assert "socket" in found[f"court/{M}/liangfei_cases.jsonl"]
    listener.close()
    led = ledger(wh)
    ignored = led.filter(pl.col("status") == "ignored")
    never_opened = ignored.filter(pl.col("source_file").is_in(list(found)))
    assert never_opened.height == len(found)
    assert never_opened["sha256"].null_count() == never_opened.height  # nothing of /etc/passwd is published
    assert never_opened["size_bytes"].null_count() == never_opened.height
    assert set(led.filter(pl.col("status") == "loaded")["reporting_month"]) == {M}  # 2012-04 not followed
    assert led.filter(pl.col("extract") == "hospital_prepregnancy").height == 0
    assert led.filter(pl.col("extract").is_in(["fee_decisions", "fee_payments"])).height == 0


def test_the_root_itself_may_be_a_link(small_zone, tmp_path):
    zone_with_good_files(small_zone)
    (tmp_path / "landing").symlink_to(small_zone, target_is_directory=True)
    report = ingest_all(tmp_path / "landing", tmp_path / "wh")
    assert report.files_ingested == 3 and not report.rejected


def test_names_match_whole_and_odd_names_are_ignored_escaped(small_zone, tmp_path):
    zone_with_good_files(small_zone)
    month = small_zone / "township" / M
    good = (month / f"{f.T1}.xlsx").read_bytes()
    # a copy named with a trailing newline: `$` matched before it, and its rows superseded the real ones
    other = tmp_path / "other.xlsx"
    f.write_workbook(other, births=[f.birth_row(rid="331003001-2012-0999")])
    (month / f"{f.T1}.xlsx\n").write_bytes(other.read_bytes())
    (small_zone / "township" / f"{M}\n").mkdir()
    (small_zone / "township" / f"{M}\n" / f"{f.T2}.xlsx").write_bytes(good)
    raw_name = os.fsencode(str(small_zone / "court" / M)) + b"/\xff\xfeliangfei_cases.jsonl"
    with open(raw_name, "wb") as out:
        out.write(b'{"case_no": "x"}\n')
    wh = tmp_path / "wh"
    found = dict(unknown_files(small_zone))
    report = ingest_all(small_zone, wh)
    assert "control character" in found[f"township/{M}/{f.T1}.xlsx\\n"]
    assert "control character" in found[f"township/{M}\\n"]
    assert "not valid UTF-8" in found[f"court/{M}/\\xff\\xfeliangfei_cases.jsonl"]
    led = ledger(wh)
    assert set(led.filter(pl.col("status") == "ignored")["source_file"]) >= set(found)
    births = pl.read_parquet(sorted((wh / "lake" / "township_births").rglob("*.parquet")))
    assert "331003001-2012-0999" not in births.get_column("registration_id").to_list()
    assert report.files_ingested == 3 and not report.rejected
    led.write_parquet(tmp_path / "ledger.parquet")  # every name stored is valid UTF-8 text


def test_deeply_nested_or_absurd_json_rejects_the_file_not_the_step(small_zone, tmp_path):
    zone_with_good_files(small_zone)
    f.write_jsonl(
        small_zone / "court" / M / "liangfei_cases.jsonl",
        ["[" * 100_000 + "]" * 100_000],
    )
    (small_zone / "court" / "2012-04").mkdir(parents=True)
    f.write_jsonl(
        small_zone / "court" / "2012-04" / "enforcement_cases.jsonl",
        ['{"case_no": ' + "9" * 10_000 + "}"],
    )
    wh = tmp_path / "wh"
    ingest_all(small_zone, wh)
    deep = row_of(wh, f"court/{M}/liangfei_cases.jsonl")
    assert deep["status"] == "rejected" and "nested too deeply" in deep["reason"]
    long = row_of(wh, "court/2012-04/enforcement_cases.jsonl")
    assert long["status"] == "rejected" and "line 1" in long["reason"]
    assert row_of(wh, f"court/{M}/enforcement_cases.jsonl")["status"] == "loaded"


def test_a_file_over_the_size_bound_is_rejected_unread(small_zone, tmp_path, monkeypatch):
    zone_with_good_files(small_zone)
    big = small_zone / "court" / M / "liangfei_cases.jsonl"
    f.write_jsonl(big, [json.dumps({"pad": "x" * 5_000})])
    monkeypatch.setenv("PFPW_MAX_FILE_BYTES", "4096")
    wh = tmp_path / "wh"
    ingest_all(small_zone, wh)
    entry = row_of(wh, f"court/{M}/liangfei_cases.jsonl")
    assert entry["status"] == "rejected" and "PFPW_MAX_FILE_BYTES" in entry["reason"]
    assert row_of(wh, f"court/{M}/enforcement_cases.jsonl")["status"] == "loaded"


def test_a_reference_table_that_is_a_link_is_never_read(small_zone, tmp_path):
    ref = small_zone / "reference" / "hospitals.csv"
    (tmp_path / "hospitals.csv").write_bytes(ref.read_bytes())
    ref.unlink()
    ref.symlink_to(tmp_path / "hospitals.csv")
    with pytest.raises(ReferenceError, match="link"):
        load_reference(small_zone)
    ref.unlink()
    os.mkfifo(ref)
    with within(30), pytest.raises(ReferenceError, match="FIFO"):
        load_reference(small_zone)


def test_opening_refuses_links_and_fifos_even_after_the_listing(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("a\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(target)
    os.mkfifo(tmp_path / "fifo.csv")
    with within(30):
        for name in ("link.csv", "fifo.csv"):
            with pytest.raises(landing.NotADelivery):
                landing.read_bytes(tmp_path / name, 1000)
            with pytest.raises(landing.NotADelivery):
                landing.sha256(tmp_path / name)
    assert landing.read_bytes(target, 1000) == b"a\n"
    assert landing.escaped("a\nb\udcff") == "a\\nb\\xff"


@pytest.mark.xdist_group("hostile_run")
def test_a_real_night_with_hostile_deliveries_succeeds_and_names_each_one(tmp_path):
    """`pfpw run` on a landing zone holding every hostile entry at once: the night succeeds (exit 0, the
    Dagster run SUCCESS), each entry is named with its reason, and the served marts are built."""
    import duckdb

    from tests.nightly import small_zone
    from tests.test_nightly_ops import pfpw

    src = small_zone(tmp_path / "sources")
    month = src / "township" / "2012-06"
    sheet_bomb(month / f"{f.T1}.xlsx", month / f"{f.T2}.xlsx")  # replaces a good workbook of the zone
    os.mkfifo(src / "hospital" / "2012-06" / "H09_births.csv")
    (src / "finance" / "2012-06" / "fee_decisions.csv").unlink()
    (src / "finance" / "2012-06" / "fee_decisions.csv").symlink_to("/etc/passwd")
    (month / f"{f.T1}.xlsx\n").write_bytes((month / f"{f.T1}.xlsx").read_bytes())
    with open(os.fsencode(str(src / "court" / "2012-06")) + b"/\xffcases.jsonl", "wb") as out:
        out.write(b"{}\n")
    f.write_jsonl(src / "court" / "2012-06" / "liangfei_cases.jsonl", ["[" * 100_000 + "]" * 100_000])
    env = {
        "DAGSTER_HOME": str(tmp_path / "home"),
        "PFPW_SOURCES_DIR": str(src),
        "PFPW_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
    }
    (tmp_path / "home").mkdir()
    done = pfpw("run", env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "SUCCESS" in out
    for name in (
        f"township/2012-06/{f.T2}.xlsx",
        "court/2012-06/liangfei_cases.jsonl",
        "hospital/2012-06/H09_births.csv",
        "finance/2012-06/fee_decisions.csv",
        f"township/2012-06/{f.T1}.xlsx\\n",
        "court/2012-06/\\xffcases.jsonl",
    ):
        assert name in out, (name, out[-3000:])
    con = duckdb.connect(str(tmp_path / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        ledger = dict(con.sql("select source_file, status from audit.ingest_ledger").fetchall())
        assert ledger[f"township/2012-06/{f.T2}.xlsx"] == "rejected"
        assert ledger["finance/2012-06/fee_decisions.csv"] == "ignored"
        assert con.sql("select count(*) from audit.ingest_ledger where sha256 is null").fetchone()[0] >= 4
        assert con.sql("select count(*) from marts.fee_collection").fetchone()[0] > 0
    finally:
        con.close()
