"""Unit tests: the GB 11643 check, pseudonymisation, the date and amount parsers, the header finder."""

import datetime as dt

import polars as pl
import pytest

from dagster_project.ingest.parse import parse_amount, parse_date, parse_timestamp
from dagster_project.ingest.readers import cell_text, find_header
from dagster_project.pii import NUMERIC_CELL, check_char, id_status, person_key, pseudonymise


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("11010519491231002X", "ok"),  # the standard's own example
        ("11010519491231002x", "ok"),  # lower-case x is X
        ("110105194912310021", "bad_check_char"),
        ("110105491231002", "old_15_digit"),
        ("", "blank"),
        (None, "blank"),
        ("11010519491231002Y", "bad_shape"),
        ("1101051949123100", "bad_shape"),
    ],
)
def test_gb11643_status(number, status):
    assert id_status(number) == status


def test_check_char_weights():
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167; 167 mod 11 = 2 -> "X"
    assert check_char("11010519491231002") == "X"


def test_person_key_is_hmac_of_upper_case_under_the_key():
    import hashlib
    import hmac

    k = person_key("11010519491231002x", b"secret")
    assert k == hmac.new(b"secret", b"11010519491231002X", hashlib.sha256).hexdigest()
    assert k != person_key("11010519491231002X", b"other")


def test_pseudonymise_never_keys_an_invalid_number():
    raw = pl.Series(["11010519491231002X", "110105194912310021", NUMERIC_CELL, None])
    status, keys = pseudonymise(raw, b"k")
    assert status.to_list() == ["ok", "bad_check_char", "numeric_cell", "blank"]
    assert keys[0] is not None and keys[1:].to_list() == [None, None, None]


def test_vectorised_pseudonymise_agrees_with_the_scalar_rules():
    """pseudonymise checks shapes and check characters in polars: the same as id_status and person_key."""
    import random

    rng = random.Random(7)
    valid = []
    for _ in range(300):
        first = "".join(rng.choice("0123456789") for _ in range(17))
        valid.append(first + check_char(first))
    edge = [
        " 11010519491231002x ",  # spaces and lower-case x
        "110105491231002",
        "11010519491231002Y",
        "110105194912310021",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits: not ASCII, not a number
        "٠١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
        "11010519491231002X\n",
        "\t",
        "",
        None,
        NUMERIC_CELL,
        "1101051949123100２X",
    ]
    values = valid + [v[:17] + rng.choice("0123456789X".replace(v[17], "")) for v in valid[:100]] + edge
    status, keys = pseudonymise(pl.Series(values, dtype=pl.Utf8), b"k")
    expected = ["numeric_cell" if v == NUMERIC_CELL else id_status(v) for v in values]
    assert status.to_list() == expected
    assert keys.to_list() == [
        person_key(v, b"k") if s == "ok" else None for v, s in zip(values, expected, strict=True)
    ]
    assert expected.count("ok") == 302 and expected.count("bad_check_char") == 101


@pytest.mark.parametrize(
    ("text", "forms", "expected"),
    [
        ("2012-03-05", "township", dt.date(2012, 3, 5)),
        ("2012/3/5", "township", dt.date(2012, 3, 5)),
        ("2012/03/05", "township", dt.date(2012, 3, 5)),
        ("2012年3月5日", "township", dt.date(2012, 3, 5)),
        ("2012年12月31日", "township", dt.date(2012, 12, 31)),
        ("2012-02-30", "township", None),  # not a calendar date
        ("2012/13/1", "township", None),
        ("5/3/2012", "township", None),
        ("2012-03-05", "iso", dt.date(2012, 3, 5)),
        ("2012/3/5", "iso", None),  # outside the township workbooks only YYYY-MM-DD
        ("2012-3-5", "iso", None),
        ("", "iso", None),
    ],
)
def test_parse_date(text, forms, expected):
    out = pl.DataFrame({"d": [text]}).select(parse_date("d", forms))["d"][0]
    assert out == expected


def test_excel_cells_become_contract_text():
    assert cell_text(dt.datetime(2012, 3, 5, 0, 0)) == "2012-03-05"
    assert cell_text(dt.date(2012, 3, 5)) == "2012-03-05"
    assert cell_text(3.0) == "3"
    assert cell_text("  东城 ") == "东城"
    assert cell_text(331003198801010021.0, identity=True) == NUMERIC_CELL


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12,345.60", "12345.60"),
        ("1234.5", "1234.50"),
        ("100", "100.00"),
        ("-5.00", "-5.00"),
        ("1,23.4", None),
        ("0.001", None),
        ("abc", None),
    ],
)
def test_parse_amount(text, value):
    out = pl.DataFrame({"a": [text]}).select(parse_amount("a"))["a"][0]
    assert (str(out) if out is not None else None) == value


def test_parse_timestamp_defaults_to_shanghai():
    assert parse_timestamp("2012-03-01T08:00:00") == dt.datetime(2012, 3, 1, 0, 0, tzinfo=dt.UTC)
    assert parse_timestamp("2012-03-01T08:00:00+08:00") == parse_timestamp("2012-03-01T00:00:00Z")
    assert parse_timestamp("yesterday") is None


def test_header_finder_skips_title_and_blank_rows():
    rows = [["东城街道2012年3月出生登记表", None], [None, None], ["登记编号", "村居代码"], ["R1", "V1"]]
    assert find_header(rows, "登记编号") == 2
    with pytest.raises(ValueError):
        find_header(rows, "村居代码")
