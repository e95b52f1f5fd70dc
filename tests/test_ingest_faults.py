"""Every fault of extracts.md's "What goes wrong": rejected or quarantined with the reason, the rest loaded."""

import datetime as dt
import json

import duckdb
import polars as pl
import pytest

from dagster_project.lake import Lake
from tests import factories as f
from tests.conftest import ingest_all

M = "2012-03"


def ledger(wh):
    return Lake(wh).ledger()


def lake_rows(wh, extract):
    return duckdb.sql(
        f"select * from read_parquet('{wh}/lake/{extract}/**/*.parquet', union_by_name=true, hive_partitioning=false)"
    ).pl()


def quarantine(wh, extract):
    return duckdb.sql(
        f"select * from read_parquet('{wh}/quarantine/{extract}/**/*.parquet', union_by_name=true, "
        "hive_partitioning=false) order by source_row"
    ).pl()


def assert_conserved(wh):
    led = ledger(wh).filter(pl.col("status") != "ignored")
    assert (led["rows_read"] == led["rows_loaded"] + led["rows_quarantined"]).all()
    for row in led.iter_rows(named=True):
        if row["extract"] is None:
            continue
        loaded = lake_rows(wh, row["extract"]).filter(pl.col("source_file") == row["source_file"]).height
        assert loaded == row["rows_loaded"], row


def only_reasons(wh, extract):
    return [r for reasons in quarantine(wh, extract)["reasons"].to_list() for r in reasons]


def entry(wh, source_file, extract):
    led = ledger(wh).filter((pl.col("source_file") == source_file) & (pl.col("extract") == extract))
    assert led.height == 1, led
    return led.row(0, named=True)


# ------------------------------------------------------------------ whole files rejected


def test_hospital_file_in_utf8_is_rejected_and_the_run_goes_on(small_zone, tmp_path):
    f.write_hospital_births(
        small_zone / "hospital" / M / "H01_births.csv", [f.hospital_row()], encoding="utf-8"
    )
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx")
    report = ingest_all(small_zone, tmp_path / "wh")
    e = entry(tmp_path / "wh", f"hospital/{M}/H01_births.csv", "hospital_births")
    assert e["status"] == "rejected" and "wrong encoding" in e["reason"] and "UTF-8" in e["reason"]
    assert lake_rows(tmp_path / "wh", "township_births").height == 1  # the other files loaded
    assert any("H01_births.csv" in file for file, _ in report.rejected)
    assert_conserved(tmp_path / "wh")


def test_finance_file_in_gbk_is_rejected(small_zone, tmp_path):
    f.write_finance(
        small_zone / "finance" / M / "fee_decisions.csv", f.DECISION_HEADER, [f.decision_row()], "gbk"
    )
    ingest_all(small_zone, tmp_path / "wh")
    e = entry(tmp_path / "wh", f"finance/{M}/fee_decisions.csv", "finance_fee_decisions")
    assert e["status"] == "rejected" and "not valid UTF-8" in e["reason"]


@pytest.mark.parametrize("content", [b"PK\x03\x04 truncated", b"not a workbook at all", b""])
def test_broken_workbook_is_rejected(small_zone, tmp_path, content):
    path = small_zone / "township" / M / f"{f.T1}.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    ingest_all(small_zone, tmp_path / "wh")
    for extract in ("township_births", "township_population", "township_village_classes"):
        e = entry(tmp_path / "wh", f"township/{M}/{f.T1}.xlsx", extract)
        assert e["status"] == "rejected" and "not a readable .xlsx workbook" in e["reason"]


def test_truncated_real_workbook_is_rejected(small_zone, tmp_path):
    path = small_zone / "township" / M / f"{f.T1}.xlsx"
    f.write_workbook(path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    ingest_all(small_zone, tmp_path / "wh")
    assert entry(tmp_path / "wh", f"township/{M}/{f.T1}.xlsx", "township_births")["status"] == "rejected"


def test_workbook_without_a_required_sheet_is_rejected(small_zone, tmp_path):
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx", sheets=("出生登记", "说明"))
    ingest_all(small_zone, tmp_path / "wh")
    e = entry(tmp_path / "wh", f"township/{M}/{f.T1}.xlsx", "township_population")
    assert e["status"] == "rejected" and e["reason"] == "missing sheet 人口变动"


def test_sheets_in_any_order_without_title_and_optional_sheet_absent(small_zone, tmp_path):
    f.write_workbook(
        small_zone / "township" / M / f"{f.T1}.xlsx", sheets=("说明", "人口变动", "出生登记"), title=False
    )
    ingest_all(small_zone, tmp_path / "wh")
    assert lake_rows(tmp_path / "wh", "township_population").height == 2
    e = entry(tmp_path / "wh", f"township/{M}/{f.T1}.xlsx", "township_village_classes")
    assert e["status"] == "loaded" and e["rows_read"] == 0 and "optional sheet" in e["reason"]


def test_renamed_column_is_rejected(small_zone, tmp_path):
    header = [*f.BIRTH_HEADER[:6], "性 别", *f.BIRTH_HEADER[7:]]
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx", birth_header=header)
    f.write_hospital_births(
        small_zone / "hospital" / M / "H01_births.csv",
        [f.hospital_row()],
        header=[*f.HOSPITAL_BIRTH_HEADER[:-1], "缺陷"],
    )
    ingest_all(small_zone, tmp_path / "wh")
    e = entry(tmp_path / "wh", f"township/{M}/{f.T1}.xlsx", "township_births")
    assert e["status"] == "rejected" and "missing column(s) 性别" in e["reason"]
    e = entry(tmp_path / "wh", f"hospital/{M}/H01_births.csv", "hospital_births")
    assert e["status"] == "rejected" and "missing column(s) 出生缺陷" in e["reason"]


def test_empty_file_rejected_but_header_only_and_empty_jsonl_are_zero_rows(small_zone, tmp_path):
    (small_zone / "finance" / M).mkdir(parents=True)
    (small_zone / "finance" / M / "fee_decisions.csv").write_bytes(b"")
    f.write_finance(small_zone / "finance" / M / "fee_payments.csv", f.PAYMENT_HEADER, [])
    (small_zone / "court" / M).mkdir(parents=True)
    (small_zone / "court" / M / "liangfei_cases.jsonl").write_bytes(b"")
    ingest_all(small_zone, tmp_path / "wh")
    wh = tmp_path / "wh"
    e = entry(wh, f"finance/{M}/fee_decisions.csv", "finance_fee_decisions")
    assert e["status"] == "rejected" and "empty file" in e["reason"]
    e = entry(wh, f"finance/{M}/fee_payments.csv", "finance_fee_payments")
    assert (e["status"], e["rows_read"]) == ("loaded", 0)
    e = entry(wh, f"court/{M}/liangfei_cases.jsonl", "court_liangfei_cases")
    assert (e["status"], e["rows_read"]) == ("loaded", 0)


def test_jsonl_with_a_broken_line_is_rejected(small_zone, tmp_path):
    f.write_jsonl(
        small_zone / "court" / M / "enforcement_cases.jsonl",
        [f.enforcement_record(), '{"case_no": "(2012)x", "applied_on": ', f.enforcement_record("C2")],
    )
    ingest_all(small_zone, tmp_path / "wh")
    e = entry(tmp_path / "wh", f"court/{M}/enforcement_cases.jsonl", "court_enforcement_cases")
    assert e["status"] == "rejected" and e["reason"].startswith("line 2: broken JSON")
    assert lake_rows(tmp_path / "wh", "court_enforcement_cases").height == 0


def test_files_named_for_unknown_township_or_hospital_are_rejected(small_zone, tmp_path):
    f.write_workbook(small_zone / "township" / M / "331003999.xlsx")
    f.write_hospital_births(small_zone / "hospital" / M / "H77_births.csv", [f.hospital_row(hospital="H77")])
    ingest_all(small_zone, tmp_path / "wh")
    assert (
        "not in reference/townships.csv"
        in entry(tmp_path / "wh", f"township/{M}/331003999.xlsx", "township_births")["reason"]
    )
    assert (
        "not in reference/hospitals.csv"
        in entry(tmp_path / "wh", f"hospital/{M}/H77_births.csv", "hospital_births")["reason"]
    )


# ------------------------------------------------------------------ rows quarantined


def test_row_faults_in_a_workbook_each_with_every_reason(small_zone, tmp_path):
    births = [
        f.birth_row("R-ok-excel-date", birth=dt.date(2012, 3, 5), registered="2012年3月9日"),
        f.birth_row("R-bad-id", mother=f.BAD_CHECK),
        f.birth_row("R-old-id", mother="331003880101002"),
        f.birth_row("R-numeric-id", mother=331003198801010021),
        f.birth_row("R-shape", village="33100300100"),
        f.birth_row("R-unknown-village", village="331003001999"),
        f.birth_row("R-other-township", village=f.V3),
        f.birth_row("R-blank", sex=None),
        f.birth_row("R-bad-date", birth="2012-02-30"),
        f.birth_row("R-after-month", birth="2012-04-01", registered="2012-04-02"),
        f.birth_row("R-before-birth", birth="2012-03-05", registered="2012-03-01"),
        f.birth_row("R-sex", sex="M", policy="超生"),
        f.birth_row("R-ok-excel-date"),  # duplicate key within the file
        f.birth_row("R-lower-x", mother=f.ident("11010519491231002").lower(), birth="2012/3/1"),
    ]
    f.write_workbook(small_zone / "township" / M / f"{f.T1}.xlsx", births=births)
    ingest_all(small_zone, tmp_path / "wh")
    wh = tmp_path / "wh"
    assert sorted(lake_rows(wh, "township_births")["registration_id"]) == ["R-lower-x", "R-ok-excel-date"]
    q = quarantine(wh, "township_births")
    reasons = dict(
        zip(
            q["record"].map_elements(lambda r: json.loads(r)["registration_id"], return_dtype=pl.Utf8),
            q["reasons"].to_list(),
            strict=True,
        )
    )
    expect = {
        "R-bad-id": "fails the GB 11643 check character",
        "R-old-id": "old 15-digit number",
        "R-numeric-id": "stored as a number",
        "R-shape": "not a 12-digit village code",
        "R-unknown-village": "not in the reference villages",
        "R-other-township": "not a village of the workbook's township",
        "R-blank": "性别 (sex): is blank",
        "R-bad-date": "出生日期 (birth_date): is not a real date",
        "R-after-month": "after the end of the reporting month 2012-03",
        "R-before-birth": "登记日期 (registered_on) is before 出生日期 (birth_date)",
        "R-sex": "性别 (sex): is not one of 男, 女, 不详",
    }
    for rid, fragment in expect.items():
        assert any(fragment in r for r in reasons[rid]), (rid, reasons[rid])
    assert len(reasons["R-sex"]) == 2  # every reason of the row: sex and policy status
    dup = q.filter(pl.col("source_row") == 16)  # the 13th data row: title, blank and header rows above
    assert any("repeats an earlier row" in r for r in dup["reasons"][0])
    # row numbers are the Excel rows: title, blank, header, then data from row 4
    assert q.filter(pl.col("reasons").list.join(";").str.contains("check character"))[
        "source_row"
    ].to_list() == [5]
    assert_conserved(wh)


def test_out_of_district_codes_are_valid_and_kept(small_zone, tmp_path):
    f.write_hospital_births(
        small_zone / "hospital" / M / "H01_births.csv",
        [
            f.hospital_row(village=f.OUTSIDE_VILLAGE),
            f.hospital_row("P2", village="331003001999"),
            f.hospital_row("P3", hospital="H02"),
        ],
    )
    f.write_finance(
        small_zone / "finance" / M / "fee_decisions.csv",
        f.DECISION_HEADER,
        [f.decision_row(township="331081001"), f.decision_row("D2", township="3310810")],
    )
    ingest_all(small_zone, tmp_path / "wh")
    wh = tmp_path / "wh"
    assert lake_rows(wh, "hospital_births")["village_code"].to_list() == [f.OUTSIDE_VILLAGE]
    reasons = only_reasons(wh, "hospital_births")
    assert any("not in the reference villages" in r for r in reasons)
    assert any("not the hospital the file is named for" in r for r in reasons)
    assert lake_rows(wh, "finance_fee_decisions")["decision_no"].to_list() == ["D1"]
    assert any("not a 9-digit township code" in r for r in only_reasons(wh, "finance_fee_decisions"))


def test_amounts_and_values_in_finance(small_zone, tmp_path):
    rows = [
        ["R1", "D1", "2012-03-02", "1,200.00", "现金"],
        ["R2", "D1", "2012-03-02", "0.00", "现金"],
        ["R3", "D1", "2012-03-02", "-5.00", "银行转账"],
        ["R4", "D1", "2012/03/02", "5.00", "支票"],
        ["R5", "D1", "2012-03-31", "1.234", "法院划拨"],
        ["R1", "D1", "2012-03-02", "10.00", "现金"],
    ]
    f.write_finance(small_zone / "finance" / M / "fee_payments.csv", f.PAYMENT_HEADER, rows)
    ingest_all(small_zone, tmp_path / "wh")
    wh = tmp_path / "wh"
    loaded = lake_rows(wh, "finance_fee_payments")
    assert loaded["receipt_no"].to_list() == ["R1"] and str(loaded["amount_paid"][0]) == "1200.00"
    q = quarantine(wh, "finance_fee_payments")
    assert q["source_row"].to_list() == [3, 4, 5, 6, 7]  # CSV lines: header is line 1
    text = ";".join(r for rs in q["reasons"].to_list() for r in rs)
    for fragment in (
        "is zero or negative",
        "缴款日期 (paid_on): is not a real date written YYYY-MM-DD",
        "is not one of 现金, 银行转账, 法院划拨",
        "at most two decimals",
        "repeats an earlier row",
    ):
        assert fragment in text
    assert_conserved(wh)


def test_court_records_rules(small_zone, tmp_path):
    recs = [
        f.enforcement_record("C1", "2012-03-15T10:00:00"),
        f.enforcement_record("C1", "2012-03-20T10:00:00+08:00"),  # same case, later state: not a duplicate
        f.enforcement_record("C1", "2012-03-15T10:00:00"),  # same key again: quarantined
        f.enforcement_record("C2", "2012-04-01T00:00:00+08:00"),  # first instant after March, Shanghai
        f.enforcement_record(
            "C3", measures=[{"type": "罚款", "on": "2012-03-01", "amount": 1, "days": None}]
        ),
        f.enforcement_record("C4", respondent_id_number="331003880101002", status="审理中"),
    ]
    f.write_jsonl(small_zone / "court" / M / "enforcement_cases.jsonl", recs)
    ingest_all(small_zone, tmp_path / "wh")
    wh = tmp_path / "wh"
    loaded = lake_rows(wh, "court_enforcement_cases")
    assert loaded["case_no"].to_list() == ["C1", "C1"]
    assert loaded["measures"][0][0]["measure_type"] == "冻结存款"
    text = ";".join(r for rs in quarantine(wh, "court_enforcement_cases")["reasons"].to_list() for r in rs)
    for fragment in (
        "repeats an earlier row",
        "更新时间 (updated_at): is after the end of the reporting month",
        "measure 1 has an unknown type",
        "old 15-digit number",
        "is not one of 立案",
    ):
        assert fragment in text, fragment
    assert "331003880101002" not in text  # reasons never repeat an identity value


def test_ingestion_through_dagster_materialize(small_zone, tmp_path, instance):
    """The real Dagster assets and their blocking ledger check, on a small zone with one bad file."""
    import dagster as dg

    from dagster_project.defs.ingestion.assets import AGENCY_ASSETS, reference_tables
    from dagster_project.defs.ingestion.ledger import LEDGER_CHECKS
    from dagster_project.defs.resources import PfpwPaths

    f.write_workbook(
        small_zone / "township" / M / f"{f.T1}.xlsx",
        births=[f.birth_row(), f.birth_row("R2", mother=f.BAD_CHECK)],
    )
    f.write_hospital_births(
        small_zone / "hospital" / M / "H01_births.csv", [f.hospital_row()], encoding="utf-8"
    )
    paths = PfpwPaths(sources_dir=str(small_zone), warehouse_dir=str(tmp_path / "wh"))
    dg.materialize([reference_tables], instance=instance, resources={"paths": paths})
    result = dg.materialize([*AGENCY_ASSETS, *LEDGER_CHECKS], instance=instance, resources={"paths": paths})
    assert result.success
    mats = {
        e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert mats["township_births"]["rows_loaded"].value == 1
    assert mats["township_births"]["rows_quarantined"].value == 1
    assert "H01_births.csv" in str(mats["hospital_births"]["rejected_files"].value)
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
