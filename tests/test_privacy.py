"""Nothing downstream of ingestion holds a clear identity number or a name from the source files."""

import contextlib
import json
import re
from pathlib import Path

import duckdb
import pytest

from tests import factories as f
from tests.conftest import SAMPLE, ingest_all

ID_RE = re.compile(r"(?<![0-9a-f])\d{17}[\dXx](?![0-9a-f])")


def source_names(sources: Path) -> set[str]:
    """Every personal name in the landing zone (母亲姓名, 女方姓名, 当事人姓名, respondent_name)."""
    from python_calamine import CalamineWorkbook

    names: set[str] = set()
    for p in sources.rglob("*.xlsx"):
        try:
            rows = CalamineWorkbook.from_path(str(p)).get_sheet_by_name("出生登记").to_python()
        except Exception:
            continue
        header = next((i for i, r in enumerate(rows) if r and r[0] == "登记编号"), None)
        if header is not None:
            col = rows[header].index("母亲姓名")
            names |= {r[col] for r in rows[header + 1 :] if len(r) > col and r[col]}
    for p in sources.rglob("*.csv"):
        for enc in ("gbk", "utf-8-sig"):
            try:
                text = p.read_bytes().decode(enc)
                break
            except UnicodeDecodeError:
                continue
        lines = [x.split(",") for x in text.splitlines()]
        if lines and ("女方姓名" in lines[0] or "当事人姓名" in lines[0]):
            col = lines[0].index("女方姓名" if "女方姓名" in lines[0] else "当事人姓名")
            names |= {x[col] for x in lines[1:] if len(x) > col}
    for p in sources.rglob("*.jsonl"):
        for line in p.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                names.add(json.loads(line).get("respondent_name"))
    return {n for n in names if n}


CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def scan(warehouse: Path, names: set[str]) -> list[str]:
    """Every text value of every Parquet file under the warehouse: identity numbers, and names
    (every 2-4 character piece of every run of Chinese characters is looked up among the names)."""
    found = []
    con = duckdb.connect()
    for p in warehouse.rglob("*.parquet"):
        text = (
            con.sql(f"select string_agg(to_json(t)::varchar, '\n') from read_parquet('{p}') t").fetchone()[0]
            or ""
        )
        if ID_RE.search(text):
            found.append(f"{p}: identity number {ID_RE.search(text).group()[:6]}…")
        pieces = {
            run[i : i + n]
            for run in set(CJK_RUN.findall(text))
            for n in (2, 3, 4)
            for i in range(len(run) - n + 1)
        }
        found.extend(f"{p}: name" for _ in pieces & names)
    return found


def test_no_identity_number_or_name_in_the_sample_lake(sample_lake):
    names = source_names(SAMPLE)
    assert len(names) > 1000
    assert scan(sample_lake, names) == []


def test_quarantine_of_bad_rows_holds_no_identity_number(small_zone, tmp_path):
    f.write_workbook(
        small_zone / "township" / "2012-03" / f"{f.T1}.xlsx",
        births=[
            f.birth_row("R1", mother=f.BAD_CHECK),
            f.birth_row("R2", mother="331003880101002"),
            f.birth_row("R3", sex="X"),
        ],
    )
    ingest_all(small_zone, tmp_path / "wh")
    quarantined = duckdb.sql(
        f"select count(*) from read_parquet('{tmp_path}/wh/quarantine/township_births/**/*.parquet')"
    )
    assert quarantined.fetchone()[0] == 3
    assert scan(tmp_path / "wh", set(f.NAMES)) == []
    assert f.BAD_CHECK not in "".join(
        p.read_bytes().decode("latin-1") for p in (tmp_path / "wh").rglob("*.parquet")
    )


@pytest.mark.parametrize("value", ["331003198801010021"])
def test_scanner_finds_a_planted_number(tmp_path, value):
    import polars as pl

    (tmp_path / "x").mkdir()
    pl.DataFrame({"a": [f"note {value}"]}).write_parquet(tmp_path / "x" / "p.parquet")
    assert scan(tmp_path, set()) != []


def test_the_publication_scan_names_table_column_and_row_never_the_value():
    from dagster_project.publish import privacy_scan

    value = "331003198801010021"
    con = duckdb.connect()
    con.execute("attach ':memory:' as pub")
    con.execute("create schema pub.audit")
    con.execute(
        "create table pub.audit.quarantine_rows (extract varchar, source_file varchar, source_row bigint, "
        "reasons varchar, record varchar)"
    )
    con.executemany(
        "insert into pub.audit.quarantine_rows values (?, ?, ?, ?, ?)",
        [
            ["finance_fee_payments", "finance/2012-03/fee_payments.csv", 2, "r", '{"receipt_no": "P1"}'],
            [
                "finance_fee_payments",
                "finance/2012-03/fee_payments.csv",
                7,
                "r",
                f'{{"receipt_no": "{value}"}}',
            ],
            ["finance_fee_payments", value, 9, "r", "{}"],  # a key column holding one is not shown either
        ],
    )
    con.execute("create schema pub.marts")
    con.execute("create table pub.marts.notes (village_code varchar, tags varchar[])")
    con.execute(
        "insert into pub.marts.notes values ('331003001001', ['a']), ('331003001201', ['b', ?])", [value]
    )
    found = privacy_scan(con, "pub", lambda candidates: set(), b"k")
    assert len(found) == 3, found
    record, source_file, tags = found
    assert "table audit.quarantine_rows" in record and "column record" in record
    assert (
        "row 2 (extract=finance_fee_payments, source_file=finance/2012-03/fee_payments.csv, source_row=7)"
        in record
    )
    assert (
        "column source_file" in source_file
        and "row 3 (extract=finance_fee_payments, source_row=9)" in source_file
    )
    assert (
        "table marts.notes" in tags and "column tags" in tags and "row 2 (village_code=331003001201)" in tags
    )
    assert all("identity number" in m and value not in m for m in found)


def test_a_table_said_to_be_a_copy_must_be_one():
    """``same_as`` skips a copy's scan only for a table of a scanned catalog with the original's rows."""
    from dagster_project.publish import privacy_scan

    con = duckdb.connect()
    for catalog in ("a", "b"):
        con.execute(f"attach ':memory:' as {catalog}")
        con.execute(f"create schema {catalog}.audit")
    con.execute("create table a.audit.t as select 'x' as v")
    con.execute("create table b.audit.t as select 'x' as v union all select '331003198801010021'")
    with pytest.raises(ValueError, match="not a copy"):
        privacy_scan(con, ("a", "b"), lambda candidates: set(), b"k", same_as={("b", "audit", "t"): "a"})
    found = privacy_scan(con, ("a", "b"), lambda candidates: set(), b"k")
    assert len(found) == 1 and "(b)" in found[0]
