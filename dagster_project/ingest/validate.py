"""Row validation with pandera (polars backend, lazy) and the split into loaded and quarantined rows.

The frame pandera sees never holds a clear identity number: identity columns are
replaced by a status code and the person_key before validation, so failure cases,
quarantine and logs cannot repeat one. Every other field is scanned for identity numbers
typed into it (``pii.free_text_identities``): such a row is quarantined with the field named,
and the number is masked (``pii.mask_free_text_identities``) before validation, so the
quarantined row does not hold it either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from dagster_project.ingest.frames import (
    FREE_ID,
    ID_STATUS,
    MEASURE_DTYPE,
    MONTH,
    MONTH_END,
    MONTH_LIMIT,
    PARSED,
    QUARANTINE_SCHEMA,
    BatchContext,
    lake_schema,
)
from dagster_project.ingest.parse import (
    parse_amount,
    parse_date,
    parse_int,
    parse_timestamp,
)
from dagster_project.ingest.rules import build_schema, measure_problem
from dagster_project.pii import (
    FREE_ID_MESSAGES,
    ID_STATUS_MESSAGES,
    free_text_identities,
    mask_free_text_identities,
    pseudonymise,
)
from dagster_project.schemas.contract import ExtractSpec

# what callers import from here (lake.py, chunk.py, the Spark parity test)
__all__ = ["QUARANTINE_SCHEMA", "BatchContext", "Split", "lake_schema", "validate"]

# ------------------------------------------------------------------ validate and split


@dataclass
class Split:
    loaded: pl.DataFrame  # typed, lake schema
    quarantined: pl.DataFrame  # QUARANTINE_SCHEMA


def prepare(spec: ExtractSpec, raw: pl.DataFrame, ctx: BatchContext, key: bytes) -> tuple[pl.DataFrame, list]:
    """Replace identity numbers by (status, person_key); find and mask identity numbers typed into
    any other field (its raw text, before anything is parsed); pre-parse timestamps and measures;
    the end of each row's reporting month as a date and as the first instant after it."""
    first = pl.col("file_month").str.to_date("%Y-%m")
    df = raw.with_columns(
        first.dt.month_end().alias(MONTH_END),
        first.dt.offset_by("1mo")  # the first instant after the month, Asia/Shanghai (as month_end_instant)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("Asia/Shanghai")
        .dt.convert_time_zone("UTC")
        .alias(MONTH_LIMIT),
    )
    measures: list = []
    for f in spec.fields:
        if f.kind != "identity":
            found = free_text_identities(df[f.name])
            df = df.with_columns(found.fill_null("ok").alias(f.name + FREE_ID))
            if found.null_count() < found.len():
                flagged = df[f.name].filter(found.is_not_null()).unique().to_list()
                masked = {v: mask_free_text_identities(v, key) for v in flagged}
                df = df.with_columns(pl.col(f.name).replace(masked))
        if f.kind == "identity":
            status, pkey = pseudonymise(df[f.name], key)
            df = df.with_columns(status.alias(f.name + ID_STATUS), pkey.alias(f.name))
        elif f.kind == "timestamp":
            parsed = [parse_timestamp(v) for v in df[f.name].to_list()]
            df = df.with_columns(pl.Series(f.name + PARSED, parsed, dtype=pl.Datetime("us", "UTC")))
        elif f.kind == "measures":
            problems, measures = [], []
            for v, month in zip(df[f.name].to_list(), df["file_month"].to_list(), strict=True):
                problem, parsed = measure_problem(v, month)
                problems.append(problem)
                measures.append(parsed)
            df = df.with_columns(pl.Series(f.name, problems, dtype=pl.Utf8))
    return df, measures


def validate(spec: ExtractSpec, raw: pl.DataFrame, ctx: BatchContext, key: bytes) -> Split:
    df, measures = prepare(spec, raw, ctx, key)
    reasons: dict[int, list[str]] = {}
    row_months = df["file_month"].to_list()
    try:
        build_schema(spec, ctx).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        for row in fc.iter_rows(named=True):
            idx = row["index"]
            if idx is None:  # a schema-level failure (never expected: every column is text)
                raise
            reasons.setdefault(idx, [])
            msg = _reason(spec, row)
            if MONTH in msg:
                msg = msg.replace(MONTH, row_months[idx])
            if msg not in reasons[idx]:
                reasons[idx].append(msg)
    bad = pl.Series("bad", [i in reasons for i in range(df.height)], dtype=pl.Boolean)
    good_df = df.filter(~bad)
    good_measures = [m for m, b in zip(measures, bad.to_list(), strict=False) if not b] if measures else None
    loaded = _typed(spec, good_df, ctx, good_measures)
    quarantined = _quarantine(spec, df.filter(bad), [reasons[i] for i in sorted(reasons)], ctx)
    return Split(loaded, quarantined)


def _reason(spec: ExtractSpec, fc: dict) -> str:
    column, check, value = fc["column"], fc["check"], fc["failure_case"]
    if column and column.endswith(ID_STATUS):
        f = spec.field(column[: -len(ID_STATUS)])
        return f"{f.label}: {ID_STATUS_MESSAGES.get(value, 'is invalid')}"
    if column and column.endswith(FREE_ID):
        f = spec.field(column[: -len(FREE_ID)])
        return f"{f.label}: {FREE_ID_MESSAGES.get(value, 'holds an identity number: not stored')}"
    if column and column in {f.name for f in spec.fields}:
        f = spec.field(column)
        if check == "not_nullable":
            return f"{f.label}: is blank"
        if f.kind == "measures":
            return f"{f.label}: {value}"
    return check


def _typed(spec: ExtractSpec, df: pl.DataFrame, ctx: BatchContext, measures: list | None) -> pl.DataFrame:
    exprs = []
    for f in spec.fields:
        c = pl.col(f.name)
        if f.kind == "date":
            exprs.append(parse_date(f.name, spec.date_forms).alias(f.name))
        elif f.kind == "timestamp":
            exprs.append(pl.col(f.name + PARSED).alias(f.name))
        elif f.kind == "int":
            exprs.append(parse_int(f.name).cast(pl.Int32).alias(f.name))
        elif f.kind == "amount":
            exprs.append(parse_amount(f.name).alias(f.name))
        elif f.kind == "bool":
            exprs.append((c == "true").alias(f.name))
        elif f.kind == "measures":
            exprs.append(pl.lit(pl.Series(f.name, measures or [], dtype=MEASURE_DTYPE)).alias(f.name))
        else:
            exprs.append(c.str.strip_chars().alias(f.name))
    out = df.select(exprs + [pl.col("source_row"), pl.col("source_file"), pl.col("file_month")])
    out = out.with_columns(pl.col("file_month").alias("reporting_month"))
    return out.select(list(lake_schema(spec))).cast(lake_schema(spec))


def _quarantine(
    spec: ExtractSpec, df: pl.DataFrame, reasons: list[list[str]], ctx: BatchContext
) -> pl.DataFrame:
    """Quarantined rows: where, why, and the row's values with identity fields as person_key or NULL."""
    keep = [f.name for f in spec.fields if f.kind != "measures"]
    records = [json.dumps(r, ensure_ascii=False, default=str) for r in df.select(keep).iter_rows(named=True)]
    return pl.DataFrame(
        {
            "extract": [spec.name] * df.height,
            "source_file": df["source_file"].to_list(),
            "reporting_month": df["file_month"].to_list(),
            "source_row": df["source_row"].to_list(),
            "reasons": reasons,
            "record": records,
        },
        schema=QUARANTINE_SCHEMA,
    )
