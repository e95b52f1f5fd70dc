"""Resident identity numbers (GB 11643-1999) and their pseudonymisation.

Identity numbers never leave ingestion in clear: a valid number becomes
``person_key`` = hex HMAC-SHA256 of the upper-cased number under ``PFPW_PII_KEY``.
Messages about an invalid number say what is wrong, never the number itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

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


# ------------------------------------------------------------------ identity numbers typed into free text
#
# Every text field that is not an identity field is scanned for what an identity number looks like:
# a run of exactly 18 digits, or of 17 digits followed by X/x, with a valid GB 11643 check character;
# or a run of exactly 15 digits (an old number) whose digits 7-12 are a real date YYMMDD of the 1900s.
# A run is a maximal run of digits (not part of a longer one); letters or punctuation around it do not
# matter. Full-width digits (０-９, Ｘ) count as digits: an input method may type them.

FULLWIDTH = [chr(0xFF10 + i) for i in range(10)] + ["Ｘ", "ｘ"]
HALFWIDTH = [str(i) for i in range(10)] + ["X", "x"]
FREE_ID_PREFILTER = "[0-9０-９]{15}"  # cheap, vectorised: only values matching it are looked at closely
FREE_ID_MESSAGES = {
    "id18": "holds an identity number (free text): not stored",
    "old15": "holds an old 15-digit identity number (free text): not stored",
}
FREE_ID_MASK = "[identity number removed #{}]"
_RUN = re.compile("(?<![0-9０-９])[0-9０-９]{15,}[XxＸｘ]?")
_TO_HALF = str.maketrans(dict(zip(FULLWIDTH, HALFWIDTH, strict=True)))


def _run_kind(run: str) -> str | None:
    """'id18', 'old15' or None for one maximal digit run (half-width, maybe ending in X/x)."""
    digits = run.rstrip("Xx")
    x = len(digits) < len(run)
    if len(digits) == 18 or (len(digits) == 17 and x):
        number = digits[:18] if len(digits) == 18 else digits + "X"
        return "id18" if check_char(number[:17]) == number[17] else None
    if len(digits) == 15:
        try:
            dt.date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))
        except ValueError:
            return None
        return "old15"
    return None


def free_text_identity(text: str | None) -> str | None:
    """Scalar form of :func:`free_text_identities`: 'id18', 'old15' or None."""
    if text is None:
        return None
    kinds = {_run_kind(m.group()) for m in _RUN.finditer(text.translate(_TO_HALF))}
    return "id18" if "id18" in kinds else "old15" if "old15" in kinds else None


def free_text_identities(values: pl.Series) -> pl.Series:
    """Per value of a text column: 'id18' (an identity number), 'old15' (an old 15-digit number) or
    NULL, as :func:`free_text_identity` says (a test holds the two to each other).

    A regex prefilter runs on the whole column; the runs, the check character and the date are
    worked out by polars on the few values it lets through.
    """
    out = pl.repeat(None, values.len(), dtype=pl.Utf8, eager=True).alias(values.name)
    frame = pl.DataFrame({"v": values.cast(pl.Utf8)}).with_row_index("i")
    cand = frame.filter(pl.col("v").str.contains(FREE_ID_PREFILTER))
    if cand.height == 0:
        return out
    r, digits, n, number = pl.col("r"), pl.col("digits"), pl.col("n"), pl.col("number")
    total = pl.sum_horizontal(
        number.str.slice(k, 1).cast(pl.Int64, strict=False) * w for k, w in enumerate(WEIGHTS)
    )
    expected = (total % 11).replace_strict(dict(enumerate(CHECK_CHARS)), return_dtype=pl.Utf8)
    is_date = (pl.lit("19") + digits.str.slice(6, 6)).str.to_date("%Y%m%d", strict=False).is_not_null()
    kinds = (
        cand.lazy()
        .select(
            "i",
            pl.col("v")
            .str.replace_many(FULLWIDTH, HALFWIDTH)
            .str.to_uppercase()
            .str.extract_all("[0-9]{15,}X?")
            .alias("r"),
        )
        .explode("r")
        .drop_nulls("r")
        .with_columns(digits=r.str.strip_suffix("X"))
        .with_columns(n=digits.str.len_chars())
        .with_columns(number=pl.when(n == 18).then(digits).when((n == 17) & r.str.ends_with("X")).then(r))
        .with_columns(
            id18=number.is_not_null() & (number.str.slice(17, 1) == expected),
            old15=(n == 15) & is_date,
        )
        .group_by("i")
        .agg(pl.col("id18").any(), pl.col("old15").any())
        .filter(pl.col("id18") | pl.col("old15"))
        .collect()
    )
    if kinds.height == 0:
        return out
    kind = pl.when(pl.col("id18")).then(pl.lit("id18")).otherwise(pl.lit("old15"))
    found = kinds.select("i", kind.alias("k"))
    return out.scatter(found["i"], found["k"])


def mask_free_text_identities(text: str, key: bytes) -> str:
    """The text with every identity number (as :func:`free_text_identity` finds them) replaced by
    ``[identity number removed #<keyed fingerprint>]``: distinct numbers stay distinct, none is readable."""

    def mask(m: re.Match) -> str:
        run = m.group().translate(_TO_HALF).upper()
        if _run_kind(run) is None:
            return m.group()
        return FREE_ID_MASK.format(
            hmac.digest(key, b"free-text-id\x00" + run.encode("ascii"), "sha256").hex()[:12]
        )

    return _RUN.sub(mask, text)
