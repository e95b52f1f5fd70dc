"""The shipped sample: every file loads, the ledger accounts for every row, and the make-up the golden
table needs is in the rows (the marts themselves are tested in test_marts.py)."""

import re

import duckdb
import polars as pl
import pytest

from dagster_project.lake import Lake
from tests.conftest import SAMPLE

pytestmark = pytest.mark.xdist_group("sample_lake")


def q(wh, sql):
    con = duckdb.connect()
    for extract in (
        "township_births",
        "township_population",
        "hospital_births",
        "finance_fee_decisions",
        "finance_fee_payments",
        "court_enforcement_cases",
        "court_liangfei_cases",
        "hospital_prepregnancy_checks",
        "township_village_classes",
    ):
        con.sql(
            f"create view {extract} as select * from read_parquet('{wh}/lake/{extract}/**/*.parquet', "
            "union_by_name=true, hive_partitioning=false)"
        )
    con.sql(
        f"create view stations as select * from read_csv('{SAMPLE}/reference/service_stations.csv', "
        "all_varchar=true)"
    )
    return con.sql(sql).fetchall()


def test_every_sample_file_loads_and_nothing_is_quarantined(sample_lake):
    ledger = Lake(sample_lake).ledger()
    files = {
        p.relative_to(SAMPLE).as_posix()
        for p in SAMPLE.rglob("*")
        if p.is_file() and p.parts[-3] != "reference" and "reference" not in p.relative_to(SAMPLE).parts
    }
    assert set(ledger["source_file"]) == files
    assert set(ledger["status"]) == {"loaded"}
    assert ledger["rows_quarantined"].sum() == 0
    assert (ledger["rows_read"] == ledger["rows_loaded"]).all()


def test_ledger_rows_equal_the_rows_in_the_files(sample_lake):
    """Count data rows independently of the readers: CSV lines, JSON lines, workbook rows via calamine."""
    from python_calamine import CalamineWorkbook

    ledger = Lake(sample_lake).ledger()
    by_file = ledger.group_by("source_file").agg(pl.col("rows_read").sum())
    expected = {}
    for p in SAMPLE.rglob("*"):
        rel = p.relative_to(SAMPLE).as_posix()
        if rel.startswith("reference") or not p.is_file():
            continue
        if p.suffix == ".csv":
            expected[rel] = len([x for x in p.read_bytes().splitlines() if x.strip()]) - 1
        elif p.suffix == ".jsonl":
            expected[rel] = len([x for x in p.read_bytes().splitlines() if x.strip()])
        else:
            wb = CalamineWorkbook.from_path(str(p))
            n = 0
            for name in ("出生登记", "人口变动", "村居分类"):
                if name in wb.sheet_names:
                    rows = wb.get_sheet_by_name(name).to_python()
                    header = next(i for i, r in enumerate(rows) if r and r[0] in ("登记编号", "村居代码"))
                    n += sum(1 for r in rows[header + 1 :] if r and r[0] not in ("", "合计"))
            expected[rel] = n
    got = dict(zip(by_file["source_file"], by_file["rows_read"], strict=True))
    assert got == expected


def test_registrations_make_up(sample_lake):
    rows = q(
        sample_lake,
        """
        select year(birth_date), count(*), count(*) filter (where policy_status = '政策外'),
               count(*) filter (where sex = '男'), count(*) filter (where sex = '女'),
               count(*) filter (where sex = '不详'),
               count(distinct village_code) filter (where policy_status = '政策外')
        from township_births where year(birth_date) in (2011, 2012) group by 1 order by 1""",
    )
    assert rows[1] == (2012, 6287, 332, 3268, 3018, 1, 215)
    assert rows[0][2] == 326 and rows[0][6] == 215


def test_fee_cases_due_and_registration_lag(sample_lake):
    due = dict(
        q(
            sample_lake,
            """select year(registered_on), count(*) from township_births
                                 where policy_status = '政策外' and mother_hukou = '本区' group by 1""",
        )
    )
    assert (due[2011], due[2012]) == (328, 301)
    carried = q(
        sample_lake,
        """select count(*) from township_births where year(birth_date) = 2011
                                and year(registered_on) = 2012""",
    )[0][0]
    assert carried > 9  # some 2011 births registered in 2012 (9 of them unplanned 本区 fee cases)


def test_court_make_up(sample_lake):
    apps = dict(
        q(
            sample_lake,
            "select year(applied_on), count(distinct case_no) from court_enforcement_cases group by 1",
        )
    )
    assert (apps[2011], apps[2012]) == (119, 415)
    measures = q(
        sample_lake,
        """
        with cur as (select * from court_enforcement_cases
                     qualify row_number() over (partition by case_no order by updated_at desc,
                                                reporting_month desc, source_row desc) = 1),
        m as (select unnest(measures, recursive := true) from cur)
        select year(measured_on), sum(amount) filter (where measure_type in ('冻结存款', '划拨存款'))::varchar,
               count(*) filter (where measure_type = '司法拘留')
        from m group by 1 order by 1""",
    )
    assert measures == [(2011, "100000.00", 8), (2012, "1013170.00", 37)]
    resent = q(
        sample_lake,
        "select count(*) from court_enforcement_cases group by case_no, updated_at having count(*) > 1",
    )
    assert len(resent) == 3  # records re-sent unchanged in a later month
    assert (
        max(r[0] for r in q(sample_lake, "select count(*) from court_enforcement_cases group by case_no")) > 2
    )


def test_stations_and_hospital_make_up(sample_lake):
    active = q(
        sample_lake,
        """select level, count(*) from stations where opened_on <= '2012-12-31'
                               and (closed_on is null or closed_on > '2012-12-31') group by 1""",
    )
    assert dict(active) == {"中心站": 3, "一级站": 1, "二级站": 9}
    outside = q(sample_lake, "select count(*) from hospital_births where village_code not like '331003%'")[0][
        0
    ]
    assert outside > 0


def test_sample_files_use_every_form_the_contract_allows():
    gbk = (SAMPLE / "hospital" / "2012-03" / "H01_births.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    fin = (SAMPLE / "finance" / "2012-03" / "fee_decisions.csv").read_bytes()
    assert fin.startswith(b"\xef\xbb\xbf")
    assert re.search(r'"\d{1,3},\d{3}\.\d{2}"', fin.decode("utf-8-sig"))
    court = "".join(
        p.read_text(encoding="utf-8") for p in (SAMPLE / "court").rglob("enforcement_cases.jsonl")
    )
    assert '+08:00"' in court and 'Z"' in court and re.search(r'"updated_at": "[0-9T:-]{19}"', court)
