"""Deliveries the data team can chase: when each reporting unit's month is due, and what became of it.

Every month of every reporting unit is due by a date: by default the 5th of the following
month, Asia/Shanghai. ``DUE`` below is the one place to change it, per agency. The units
come from the reference data and the contract:

=========  ==========================================  ============================================
agency     units                                       files expected per month
=========  ==========================================  ============================================
township   every township of reference/townships.csv   ``township/<YYYY-MM>/<township_code>.xlsx``
hospital   every hospital of reference/hospitals.csv   ``<code>_births.csv``, ``<code>_prepregnancy.csv``
court      the court and joint enforcement team        ``enforcement_cases.jsonl``, ``liangfei_cases.jsonl``
finance    the finance bureau                          ``fee_decisions.csv``, ``fee_payments.csv``
=========  ==========================================  ============================================

A file is *delivered* when the ledger holds it and it was not rejected (a rejected file
counts as not delivered). Its delivery time is its modification time in the landing zone,
recorded in the ledger when its content was ingested: the pipeline never writes the landing
zone, so every run, and a fresh build on the same landing zone, sees the same time. A unit's
month is complete when every expected file is delivered; its time is that of its last file.

Status of a unit's month, as of a date (``PFPW_AS_OF``, default today in Asia/Shanghai):
``on_time`` (complete by the due date), ``late`` (complete after it), ``rejected`` (a file
came but was rejected, none is missing), ``overdue`` (a file is missing and the due date has
passed) or ``not_yet_due``.

The months expected run from the earliest reporting month in the landing zone to the latest
one (any agency): a month one agency has delivered is due from all. For live operation set
``PFPW_EXPECT_DELIVERIES_UNTIL=today`` (every month up to the current one is expected) or
``=YYYY-MM``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dagster_project import settings

if TYPE_CHECKING:  # polars is imported where it is used: the state's calendar part must stay cheap
    import polars as pl

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF_ENV = settings.AS_OF_VAR
UNTIL_ENV = settings.DELIVERIES_UNTIL_VAR


@dataclass(frozen=True)
class Due:
    """Due on ``day`` of the month ``months_after`` the reporting month (end of that day, Asia/Shanghai)."""

    months_after: int = 1
    day: int = 5

    def date_for(self, month: str) -> dt.date:
        year, mon = int(month[:4]), int(month[5:7]) + self.months_after
        year, mon = year + (mon - 1) // 12, (mon - 1) % 12 + 1
        return dt.date(year, mon, min(self.day, calendar.monthrange(year, mon)[1]))


# the one place where due dates are configured, per agency
DUE: dict[str, Due] = {
    "township": Due(),
    "hospital": Due(),
    "court": Due(),
    "finance": Due(),
}

AGENCY_UNITS = {"court": ("court", "法院及联合执法队"), "finance": ("finance", "财政局")}
FILES = {
    "township": ("{unit}.xlsx",),
    "hospital": ("{unit}_births.csv", "{unit}_prepregnancy.csv"),
    "court": ("enforcement_cases.jsonl", "liangfei_cases.jsonl"),
    "finance": ("fee_decisions.csv", "fee_payments.csv"),
}


def status_schema() -> dict:
    import polars as pl

    return {
        "agency": pl.Utf8,
        "unit_code": pl.Utf8,
        "unit_name": pl.Utf8,
        "reporting_month": pl.Utf8,
        "due_date": pl.Date,
        "files_expected": pl.Int64,
        "files_delivered": pl.Int64,
        "files_rejected": pl.Int64,
        "files_missing": pl.Int64,
        "delivered_at": pl.Datetime("us", "UTC"),
        "days_late": pl.Int64,
        "status": pl.Utf8,
        "overdue": pl.Boolean,
    }


def as_of() -> dt.date:
    value = settings.current().as_of
    return dt.date.fromisoformat(value) if value else dt.datetime.now(SHANGHAI).date()


def _months(first: str, last: str) -> list[str]:
    out, (y, m) = [], (int(first[:4]), int(first[5:7]))
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def expected_months(landing_months: list[str], today: dt.date) -> list[str]:
    """The reporting months every unit is expected to deliver (see the module's docstring)."""
    until = settings.current().expect_deliveries_until
    if not landing_months and until == "latest":
        return []
    last = max(landing_months) if landing_months else f"{today:%Y-%m}"
    if until == "today":
        last = max(last, f"{today:%Y-%m}")
    elif until != "latest":
        dt.datetime.strptime(until, "%Y-%m")  # a clear error for a malformed setting
        last = until
    first = min(landing_months) if landing_months else last
    return _months(first, last)


def units(reference_tables: dict[str, pl.DataFrame]) -> list[tuple[str, str, str]]:
    """(agency, unit code, unit name) of every reporting unit."""
    out = [
        ("township", r["township_code"], r["township_name"])
        for r in reference_tables["townships"].iter_rows(named=True)
    ]
    out += [
        ("hospital", r["hospital_code"], r["hospital_name"])
        for r in reference_tables["hospitals"].iter_rows(named=True)
    ]
    out += [(agency, code, name) for agency, (code, name) in AGENCY_UNITS.items()]
    return out


def delivery_status(
    ledger: pl.DataFrame,
    reference_tables: dict[str, pl.DataFrame],
    landing_months: list[str],
    today: dt.date | None = None,
) -> pl.DataFrame:
    """One row per reporting unit and expected month (see the module's docstring)."""
    import polars as pl

    schema = status_schema()
    today = today or as_of()
    months = expected_months(landing_months, today)
    expected = [
        {
            "agency": agency,
            "unit_code": code,
            "unit_name": name,
            "reporting_month": month,
            "source_file": f"{agency}/{month}/" + pattern.format(unit=code),
        }
        for agency, code, name in units(reference_tables)
        for month in months
        for pattern in FILES[agency]
    ]
    if not expected:
        return pl.DataFrame(schema=schema)
    files = (
        ledger.filter(pl.col("status") != "ignored")
        .group_by("source_file")
        .agg(
            rejected=(pl.col("status") == "rejected").any(),
            delivered_at=pl.col("delivered_at").max(),
        )
    )
    per_file = pl.DataFrame(expected).join(files, on="source_file", how="left")
    per_unit = (
        per_file.group_by("agency", "unit_code", "unit_name", "reporting_month")
        .agg(
            files_expected=pl.len().cast(pl.Int64),
            files_delivered=(pl.col("rejected") == False).sum().cast(pl.Int64),  # noqa: E712
            files_rejected=(pl.col("rejected") == True).sum().cast(pl.Int64),  # noqa: E712
            files_missing=pl.col("rejected").is_null().sum().cast(pl.Int64),
            delivered_at=pl.col("delivered_at").filter(pl.col("rejected") == False).max(),  # noqa: E712
        )
        .with_columns(
            due_date=pl.struct("agency", "reporting_month").map_elements(
                lambda r: DUE[r["agency"]].date_for(r["reporting_month"]), return_dtype=pl.Date
            )
        )
    )
    complete = pl.col("files_delivered") == pl.col("files_expected")
    delivered_day = pl.col("delivered_at").dt.convert_time_zone("Asia/Shanghai").dt.date()
    days_late = (delivered_day - pl.col("due_date")).dt.total_days()
    past_due = pl.lit(today) > pl.col("due_date")
    return (
        per_unit.with_columns(
            days_late=pl.when(complete & (days_late > 0)).then(days_late).otherwise(None).cast(pl.Int64),
            status=pl.when(complete & (days_late <= 0))
            .then(pl.lit("on_time"))
            .when(complete)
            .then(pl.lit("late"))
            .when((pl.col("files_rejected") > 0) & (pl.col("files_missing") == 0))
            .then(pl.lit("rejected"))
            .when(past_due)
            .then(pl.lit("overdue"))
            .otherwise(pl.lit("not_yet_due")),
            overdue=~complete & past_due,
        )
        .select(list(schema))
        .cast(schema)
        .sort("agency", "unit_code", "reporting_month")
    )


def calendar_position(today: dt.date | None = None) -> str:
    """Changes when a due date passes: part of the state, so the next night refreshes the statuses."""
    today = today or as_of()
    latest_passed = {}
    for agency, due in DUE.items():
        month = f"{today:%Y-%m}"
        # the latest reporting month whose due date is before today (at most a year back is enough)
        for candidate in reversed(_months(f"{today.year - 2:04d}-01", month)):
            if due.date_for(candidate) < today:
                latest_passed[agency] = candidate
                break
    until = settings.current().expect_deliveries_until
    if until == "today":  # the expected months grow on the first of every month
        until += f":{today:%Y-%m}"
    return f"{until}|" + ",".join(f"{a}:{m}" for a, m in sorted(latest_passed.items()))
