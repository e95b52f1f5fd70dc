"""Parsing of the contract's value forms, as vectorised polars expressions.

Each parser returns NULL for a value it cannot read, so the same expression
serves as a validation check (``is_not_null``) and as the typed conversion.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

SHANGHAI = ZoneInfo("Asia/Shanghai")

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# township workbooks: 2012-03-05, 2012/3/5, 2012年3月5日 (an Excel date cell is read as ISO text)
TOWNSHIP_DATE_FORMS = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    (r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d"),
    (r"^\d{4}年\d{1,2}月\d{1,2}日$", "%Y年%m月%d日"),
)
AMOUNT_RE = r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$"
INT_RE = r"^\d+$"


def parse_date(col: str | pl.Expr, forms: str = "iso") -> pl.Expr:
    """A date column from text in the allowed forms; NULL where not a real calendar date."""
    e = pl.col(col) if isinstance(col, str) else col
    e = e.str.strip_chars()
    if forms == "iso":
        return pl.when(e.str.contains(ISO_DATE)).then(e.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    parts = []
    for pattern, fmt in TOWNSHIP_DATE_FORMS:
        # zero-pad month and day so that one strict format reads each form
        norm = e
        if fmt != "%Y-%m-%d":
            sep = "/" if "/" in fmt else None
            if sep:
                pieces = norm.str.split("/")
            else:
                pieces = norm.str.replace("日$", "").str.replace_all("[年月]", "/").str.split("/")
            norm = pl.concat_str(
                [
                    pieces.list.get(0, null_on_oob=True),
                    pieces.list.get(1, null_on_oob=True).str.zfill(2),
                    pieces.list.get(2, null_on_oob=True).str.zfill(2),
                ],
                separator="-",
            )
        parts.append(
            pl.when(e.str.contains(pattern)).then(norm.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        )
    return pl.coalesce(parts)


def parse_amount(col: str) -> pl.Expr:
    """Yuan with at most two decimals, thousands separators allowed, as DECIMAL(18,2)."""
    e = pl.col(col).str.strip_chars()
    return pl.when(e.str.contains(AMOUNT_RE)).then(
        e.str.replace_all(",", "").cast(pl.Decimal(18, 2), strict=False)
    )


def parse_int(col: str) -> pl.Expr:
    e = pl.col(col).str.strip_chars()
    return pl.when(e.str.contains(INT_RE) & (e.str.len_chars() <= 9)).then(e.cast(pl.Int64, strict=False))


def parse_timestamp(value: str | None) -> dt.datetime | None:
    """ISO 8601 instant as UTC; without an offset it is Asia/Shanghai time."""
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=SHANGHAI)
    return t.astimezone(dt.UTC)


def month_end(month: str) -> dt.date:
    y, m = (int(p) for p in month.split("-"))
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def month_end_instant(month: str) -> dt.datetime:
    """The first instant after the folder's month, Asia/Shanghai."""
    d = month_end(month) + dt.timedelta(days=1)
    return dt.datetime(d.year, d.month, d.day, tzinfo=SHANGHAI).astimezone(dt.UTC)
