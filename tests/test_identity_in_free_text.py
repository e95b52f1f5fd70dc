"""Issue 24: an identity number typed into a field that is not an identity field (a receipt number, a
case status, a workbook's registration number) is found at ingestion: the row is quarantined with the
field named, and the number is stored nowhere in clear, quarantine included. Numbers that only look
alike (a wrong check character, 15 digits that hold no date) are not taken for one."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from dagster_project.pii import (
    FREE_ID_MESSAGES,
    check_char,
    free_text_identities,
    free_text_identity,
    mask_free_text_identities,
)
from tests import factories as f
from tests.conftest import TEST_KEY, ingest_all
from tests.test_ingest_faults import assert_conserved, lake_rows, ledger, quarantine

M = "2012-03"
ID18 = f.ident("33100319850607003")  # valid, a digit as check character
ID18X = next(p + "X" for p in (f"33100319900101{i:03d}" for i in range(1000)) if check_char(p) == "X")
OLD15 = "331003880101002"  # digits 7-12: 880101, 1 January 1988
WRONG_CHECK = ID18[:-1] + ("1" if ID18[-1] != "1" else "2")  # 18 digits, wrong check character
PLAIN15 = "123456789012345"  # digits 7-12: 789012, no month 90: not an old identity number
MARK = "[identity number removed #"


def clear_values(values: list[str]) -> set[str]:
    """Every form in which the values could be stored: as given, upper- and lower-case."""
    return {v for value in values for v in (value, value.upper(), value.lower())}


def found_under(warehouse: Path, values: list[str]) -> list[str]:
    """Files under the warehouse holding one of the values in clear: every cell of every Parquet file
    (read back, as Parquet may compress), and the raw bytes of every file (Parquet included)."""
    wanted = clear_values(values)
    hits = []
    con = duckdb.connect()
    for p in sorted(x for x in warehouse.rglob("*") if x.is_file()):
        raw = p.read_bytes()
        texts = [raw.decode("utf-8", errors="replace"), raw.decode("latin-1")]
        if p.suffix == ".parquet":
            texts.append(
                con.sql(
                    f"select string_agg(to_json(t)::varchar, '\n') from read_parquet('{p}') t"
                ).fetchone()[0]
                or ""
            )
        hits += [f"{p.relative_to(warehouse)}: {v[:4]}…" for v in wanted if any(v in t for t in texts)]
    assert any(p.suffix == ".parquet" for p in warehouse.rglob("*"))  # the search did look at something
    return hits


def quarantined_for(warehouse: Path, extract: str) -> pl.DataFrame:
    return quarantine(warehouse, extract)


def reasons_of(q: pl.DataFrame, source_row: int) -> list[str]:
    return q.filter(pl.col("source_row") == source_row)["reasons"].to_list()[0]


# ------------------------------------------------------------------ real ingestion


def test_finance_receipt_numbers_holding_identity_numbers_are_quarantined_and_masked(small_zone, tmp_path):
    assert check_char(ID18[:17]) == ID18[17] and ID18X.endswith("X") and len(ID18X) == 18
    assert check_char(WRONG_CHECK[:17]) != WRONG_CHECK[17]
    rows = [
        ["P2012030001", "D1", "2012-03-20", "100.00", "现金"],  # line 2: an ordinary receipt
        [f"缴{ID18}", "D1", "2012-03-20", "100.00", "现金"],  # line 3: an identity number in the receipt
        [ID18X.lower(), "D1", "2012-03-20", "100.00", "银行转账"],  # line 4: with x as check character
        [f"R-{OLD15}", "D1", "2012-03-20", "100.00", "现金"],  # line 5: an old 15-digit number
        [WRONG_CHECK, "D1", "2012-03-20", "100.00", "现金"],  # line 6: 18 digits, wrong check: loaded
        [PLAIN15, "D1", "2012-03-20", "100.00", "现金"],  # line 7: 15 digits, no date: loaded
    ]
    f.write_finance(small_zone / "finance" / M / "fee_payments.csv", f.PAYMENT_HEADER, rows)
    wh = tmp_path / "wh"
    ingest_all(small_zone, wh)

    loaded = lake_rows(wh, "finance_fee_payments")
    assert sorted(loaded["receipt_no"].to_list()) == sorted(["P2012030001", WRONG_CHECK, PLAIN15])
    q = quarantined_for(wh, "finance_fee_payments")
    assert q["source_row"].to_list() == [3, 4, 5]
    assert reasons_of(q, 3) == [f"缴款单号 (receipt_no): {FREE_ID_MESSAGES['id18']}"]
    assert reasons_of(q, 4) == [f"缴款单号 (receipt_no): {FREE_ID_MESSAGES['id18']}"]
    assert reasons_of(q, 5) == [f"缴款单号 (receipt_no): {FREE_ID_MESSAGES['old15']}"]
    for record in q["record"].to_list():
        assert MARK in record
    (led,) = ledger(wh).filter(pl.col("extract") == "finance_fee_payments").iter_rows(named=True)
    assert (led["rows_read"], led["rows_loaded"], led["rows_quarantined"]) == (6, 3, 3)
    assert_conserved(wh)
    assert found_under(wh, [ID18, ID18X, OLD15]) == []
    assert found_under(wh, [WRONG_CHECK, PLAIN15]) != []  # the search finds what is there


def test_a_court_case_status_holding_an_identity_number_is_quarantined_and_masked(small_zone, tmp_path):
    f.write_jsonl(
        small_zone / "court" / M / "enforcement_cases.jsonl",
        [
            f.enforcement_record("(2012)台黄执字第00001号"),
            f.enforcement_record("(2012)台黄执字第00002号", status=f"执行中 {ID18X}"),
            f.enforcement_record("(2012)台黄执字第00003号", status=OLD15),
        ],
    )
    wh = tmp_path / "wh"
    ingest_all(small_zone, wh)

    assert lake_rows(wh, "court_enforcement_cases")["case_no"].to_list() == ["(2012)台黄执字第00001号"]
    q = quarantined_for(wh, "court_enforcement_cases")
    assert q["source_row"].to_list() == [2, 3]
    for line, kind in ((2, "id18"), (3, "old15")):
        reasons = reasons_of(q, line)
        assert f"状态 (status): {FREE_ID_MESSAGES[kind]}" in reasons
        assert all(ID18X not in r and OLD15 not in r for r in reasons)
    assert all(MARK in r for r in q["record"].to_list())
    assert_conserved(wh)
    assert found_under(wh, [ID18X, OLD15]) == []


def test_a_township_registration_number_holding_an_identity_number_is_quarantined_and_masked(
    small_zone, tmp_path
):
    f.write_workbook(
        small_zone / "township" / M / f"{f.T1}.xlsx",
        births=[
            f.birth_row("331003001-2012-0001"),
            f.birth_row(f"331003001-{ID18}"),
            f.birth_row(f"登记{OLD15}号"),
            f.birth_row(f"331003001-{WRONG_CHECK}"),  # no identity number: loaded
        ],
    )
    wh = tmp_path / "wh"
    ingest_all(small_zone, wh)

    loaded = lake_rows(wh, "township_births")["registration_id"].to_list()
    assert sorted(loaded) == ["331003001-2012-0001", f"331003001-{WRONG_CHECK}"]
    q = quarantined_for(wh, "township_births")
    assert [r for reasons in q["reasons"].to_list() for r in reasons] == [
        f"登记编号 (registration_id): {FREE_ID_MESSAGES['id18']}",
        f"登记编号 (registration_id): {FREE_ID_MESSAGES['old15']}",
    ]
    assert lake_rows(wh, "township_population").height == 2  # the workbook's other sheet is untouched
    assert_conserved(wh)
    assert found_under(wh, [ID18, OLD15]) == []


# ------------------------------------------------------------------ the rules themselves


CASES = [
    (ID18, "id18"),
    (f"note {ID18}.", "id18"),
    (f"R{ID18}", "id18"),  # letters around it do not hide it
    (ID18X, "id18"),
    (ID18X.lower(), "id18"),
    (f"{ID18X}abc", "id18"),
    ("".join(chr(0xFF10 + int(c)) for c in ID18), "id18"),  # full-width digits
    (OLD15, "old15"),
    (f"({OLD15})", "old15"),
    ("331003000229002", None),  # 000229: 1900 was not a leap year
    (WRONG_CHECK, None),
    (PLAIN15, None),
    ("331003880230002", None),  # 30 February
    (f"1{ID18}", None),  # part of a longer run of digits
    (f"{ID18}1", None),
    (f"{OLD15}1", None),
    (ID18[:17], None),  # 17 digits
    ("12,345.60", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_scalar_rule(text, kind):
    assert free_text_identity(text) == kind


def test_vectorised_rule_agrees_with_the_scalar_one():
    texts = [t for t, _ in CASES] + [f"{ID18} and {OLD15}", f"{PLAIN15} {OLD15}", f"{WRONG_CHECK}{'x' * 3}"]
    vectorised = free_text_identities(pl.Series("v", texts)).to_list()
    assert vectorised == [free_text_identity(t) for t in texts]
    assert free_text_identities(pl.Series("v", ["a", None])).to_list() == [None, None]


def test_masking_removes_every_identity_number_and_keeps_the_rest():
    text = f"收据 {ID18} / {ID18X.lower()} / {OLD15} / {WRONG_CHECK} / {PLAIN15}"
    masked = mask_free_text_identities(text, TEST_KEY)
    assert ID18 not in masked and ID18X.lower() not in masked and OLD15 not in masked
    assert WRONG_CHECK in masked and PLAIN15 in masked and masked.startswith("收据 ")
    assert masked.count(MARK) == 3
    assert free_text_identity(masked) is None
    # keyed: the same number gives the same mark, another key another
    assert mask_free_text_identities(ID18, TEST_KEY) == mask_free_text_identities(f"{ID18}", TEST_KEY)
    assert mask_free_text_identities(ID18, TEST_KEY) != mask_free_text_identities(ID18, b"other")
