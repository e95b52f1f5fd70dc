"""Resident identity numbers (GB 11643-1999) and their pseudonymisation.

Identity numbers never leave ingestion in clear: a valid number becomes
``person_key`` = hex HMAC-SHA256 of the upper-cased number under ``PFPW_PII_KEY``.
Messages about an invalid number say what is wrong, never the number itself.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# status codes -> messages (the message never contains the value)
ID_STATUS_MESSAGES = {
    "blank": "is blank",
    "numeric_cell": "is stored as a number (its last digits are already lost)",
    "old_15_digit": "is an old 15-digit number",
    "bad_shape": "is not 17 digits followed by a digit or X",
    "bad_check_char": "fails the GB 11643 check character",
}


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def id_status(value: str | None) -> str:
    """'ok' or one of ID_STATUS_MESSAGES' codes. Lower-case x is the same as X; digits are ASCII digits."""
    if value is None or not value.strip():
        return "blank"
    v = value.strip().upper()
    if not v.isascii():
        return "bad_shape"
    if len(v) == 15 and v.isdigit():
        return "old_15_digit"
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return "bad_shape"
    return "ok" if check_char(v[:17]) == v[17] else "bad_check_char"


def person_key(value: str, key: bytes) -> str:
    return hmac.digest(key, value.strip().upper().encode("ascii"), "sha256").hex()


def name_fingerprint(name: str, key: bytes) -> str:
    """A personal name, keyed: lets the privacy scan recognise a leaked name without anyone storing names."""
    return hmac.digest(key, b"name\x00" + name.strip().encode("utf-8"), "sha256").hex()


def key_fingerprint(key: bytes) -> str:
    """Identifies the key in the ledger without revealing it."""
    return hashlib.sha256(b"pfpw-pii-key-fingerprint\x00" + key).hexdigest()[:16]


def pseudonymise(raw: pl.Series, key: bytes) -> tuple[pl.Series, pl.Series]:
    """(status, person_key) for a column of raw identity values, as :func:`id_status` and
    :func:`person_key` give them (a test holds the two to each other).

    Values that came from numeric spreadsheet cells arrive as the marker NUMERIC_CELL. Work is
    done once per distinct value; the shape and the check character are checked by polars.
    """
    values = raw.unique().to_list()
    norm = [None if v is None else v.strip().upper() for v in values]
    n = pl.col("n")
    total = pl.sum_horizontal(
        n.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(WEIGHTS)
    )
    expected = (total % 11).replace_strict(dict(enumerate(CHECK_CHARS)), return_dtype=pl.Utf8)
    status = (
        pl.when(pl.col("v") == NUMERIC_CELL)
        .then(pl.lit("numeric_cell"))
        .when(n.is_null() | (n == ""))
        .then(pl.lit("blank"))
        .when(n.str.contains(r"^[0-9]{15}$"))
        .then(pl.lit("old_15_digit"))
        .when(~n.str.contains(r"^[0-9]{17}[0-9X]$"))
        .then(pl.lit("bad_shape"))
        .when(n.str.slice(17, 1) == expected)
        .then(pl.lit("ok"))
        .otherwise(pl.lit("bad_check_char"))
    )
    distinct = pl.DataFrame({"v": values, "n": norm}, schema={"v": pl.Utf8, "n": pl.Utf8}).with_columns(
        status.alias("status")
    )
    statuses = dict(zip(values, distinct["status"].to_list(), strict=True))
    ok = distinct.filter(pl.col("status") == "ok")
    keys: dict[str | None, str | None] = {
        v: hmac.digest(key, k.encode("ascii"), "sha256").hex()
        for v, k in zip(ok["v"].to_list(), ok["n"].to_list(), strict=True)
    }
    status = raw.replace_strict(statuses, return_dtype=pl.Utf8, default="blank")
    pkey = raw.replace_strict(keys, return_dtype=pl.Utf8, default=None)
    return status, pkey


NUMERIC_CELL = "\x00numeric-cell\x00"
