"""The frames of validation: the columns every extract's rows carry besides the contract's fields, the
quarantine's schema, and the typed schema of each extract in the lake."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dagster_project.schemas.contract import ExtractSpec

ID_STATUS = "__id_status"
FREE_ID = "__free_id"  # a non-identity field: "ok", or the kind of identity number found in it (see prepare)
PARSED = "__parsed"

MEASURE_DTYPE = pl.List(
    pl.Struct(
        {"measure_type": pl.Utf8, "measured_on": pl.Date, "amount": pl.Decimal(18, 2), "days": pl.Int32}
    )
)
META_SCHEMA = {"source_file": pl.Utf8, "reporting_month": pl.Utf8, "source_row": pl.Int64}
QUARANTINE_SCHEMA = {
    "extract": pl.Utf8,
    "source_file": pl.Utf8,
    "reporting_month": pl.Utf8,
    "source_row": pl.Int64,
    "reasons": pl.List(pl.Utf8),
    "record": pl.Utf8,
}


@dataclass(frozen=True)
class BatchContext:
    """What a row is checked against besides its own values.

    Rows of many files, of any months, are validated together; what depends on the file
    travels with the row as columns: ``source_file``, ``file_month`` (the reporting month of
    its folder), ``file_township`` (a township workbook's township) and ``file_hospital`` (a
    hospital file's hospital).
    """

    townships: frozenset[str]
    villages: dict[str, str]


FILE_COLUMNS = {
    "source_file": pl.Utf8,
    "file_month": pl.Utf8,
    "file_township": pl.Utf8,
    "file_hospital": pl.Utf8,
}
MONTH_END, MONTH_LIMIT = "_month_end", "_month_limit"  # per row, from file_month (see prepare)
DERIVED_COLUMNS = {MONTH_END: pl.Date, MONTH_LIMIT: pl.Datetime("us", "UTC")}
MONTH = "{month}"  # in a reason: the row's reporting month


def lake_schema(spec: ExtractSpec) -> dict[str, pl.DataType]:
    types: dict[str, pl.DataType] = {}
    for f in spec.fields:
        types[f.name] = {
            "date": pl.Date(),
            "timestamp": pl.Datetime("us", "UTC"),
            "int": pl.Int32(),
            "amount": pl.Decimal(18, 2),
            "bool": pl.Boolean(),
            "measures": MEASURE_DTYPE,
        }.get(f.kind, pl.Utf8())
    return {**types, **META_SCHEMA}
