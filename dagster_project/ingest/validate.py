"""Row validation with pandera (polars backend, lazy) and the split into loaded and quarantined rows.

The frame pandera sees never holds a clear identity number: identity columns are
replaced by a status code and the person_key before validation, so failure cases,
quarantine and logs cannot repeat one. Every other field is scanned for identity numbers
typed into it (``pii.free_text_identities``): such a row is quarantined with the field named,
and the number is masked (``pii.mask_free_text_identities``) before validation, so the
quarantined row does not hold it either.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from dagster_project.ingest.parse import (
    AMOUNT_RE,
    INT_RE,
    month_end,
    parse_amount,
    parse_date,
    parse_int,
    parse_timestamp,
)
from dagster_project.pii import (
    FREE_ID_MESSAGES,
    ID_STATUS_MESSAGES,
    free_text_identities,
    mask_free_text_identities,
    pseudonymise,
)
from dagster_project.schemas.contract import MEASURE_TYPES, ExtractSpec, Field

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


# ------------------------------------------------------------------ measures (court)


def _measure_problem(text: str | None, month: str) -> tuple[str | None, list[dict] | None]:
    """(problem, parsed measures) for the JSON text of a measures list."""
    if text is None:
        return None, []
    try:
        items = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        return "is not a list", None
    if not isinstance(items, list):
        return "is not a list", None
    last = month_end(month)
    out = []
    for i, m in enumerate(items, start=1):
        if not isinstance(m, dict):
            return f"measure {i} is not an object", None
        kind = m.get("type")
        if kind not in MEASURE_TYPES:
            return f"measure {i} has an unknown type (allowed: {', '.join(MEASURE_TYPES)})", None
        try:
            on = dt.date.fromisoformat(str(m.get("on")))
            if len(str(m.get("on"))) != 10:
                raise ValueError
        except ValueError:
            return f"measure {i} has no valid date (YYYY-MM-DD)", None
        if on > last:
            return f"measure {i} is dated after the end of the reporting month {month}", None
        amount = m.get("amount")
        if amount is not None:
            try:
                amount = Decimal(str(amount).replace(",", ""))
            except InvalidOperation:
                return f"measure {i} has an amount that is not a number", None
            if amount < 0 or amount != amount.quantize(Decimal("0.01")):
                return f"measure {i} has a negative amount or more than two decimals", None
        days = m.get("days")
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
            return f"measure {i} has days that are not a whole number ≥ 0", None
        out.append({"measure_type": kind, "measured_on": on, "amount": amount, "days": days})
    return None, out


# ------------------------------------------------------------------ the schema


def _expr_check(name: str, error: str, fn) -> pa.Check:
    """A vectorised check: fn(column expr) -> boolean expr; NULLs pass (not_nullable reports blanks)."""

    def check(data: PolarsData) -> pl.LazyFrame:
        c = pl.col(data.key)
        return data.lazyframe.select((fn(c) | c.is_null()).fill_null(False).alias(data.key))

    return pa.Check(check, name=name, error=error)


def _frame_check(name: str, error: str, expr: pl.Expr) -> pa.Check:
    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(expr.fill_null(True).alias("ok"))

    return pa.Check(check, name=name, error=error)


def _field_checks(spec: ExtractSpec, f: Field, ctx: BatchContext) -> list[pa.Check]:
    L = f.label
    checks: list[pa.Check] = []
    if f.kind == "township_code":
        checks.append(
            _expr_check(
                "township_code_shape",
                f"{L}: is not a 9-digit township code",
                lambda c: c.str.contains(r"^\d{9}$"),
            )
        )
    elif f.kind == "village_code":
        checks.append(
            _expr_check(
                "village_code_shape",
                f"{L}: is not a 12-digit village code",
                lambda c: c.str.contains(r"^\d{12}$"),
            )
        )
        known_villages = list(ctx.villages)
        known_townships = list(ctx.townships)
        if spec.agency == "township":
            checks.append(
                _expr_check(
                    "village_other_township",
                    f"{L}: is not a village of the workbook's township",
                    lambda c: ~c.str.contains(r"^\d{12}$") | c.str.starts_with(pl.col("file_township")),
                )
            )
        checks.append(
            _expr_check(
                "village_unknown",
                f"{L}: is not in the reference villages, though its township is",
                lambda c: (
                    ~c.str.contains(r"^\d{12}$")
                    | ~c.str.slice(0, 9).is_in(known_townships)
                    | c.is_in(known_villages)
                ),
            )
        )
    elif f.kind == "identity":
        pass  # validated on its status column
    elif f.kind == "date":
        forms = spec.date_forms
        human = "YYYY-MM-DD" if forms == "iso" else "an Excel date, YYYY-MM-DD, YYYY/M/D or YYYY年M月D日"
        checks.append(
            _expr_check(
                "date_form",
                f"{L}: is not a real date written {human}",
                lambda c: parse_date(c, forms).is_not_null(),
            )
        )
        checks.append(
            _expr_check(
                "date_after_month",
                f"{L}: is after the end of the reporting month {MONTH}",
                lambda c: parse_date(c, forms).is_null() | (parse_date(c, forms) <= pl.col(MONTH_END)),
            )
        )
    elif f.kind == "timestamp":
        p = pl.col(f.name + PARSED)
        checks.append(
            _expr_check("timestamp_form", f"{L}: is not an ISO 8601 timestamp", lambda c: p.is_not_null())
        )
        checks.append(
            _expr_check(
                "timestamp_after_month",
                f"{L}: is after the end of the reporting month {MONTH}",
                lambda c: p.is_null() | (p < pl.col(MONTH_LIMIT)),
            )
        )
    elif f.kind == "int":
        checks.append(
            _expr_check(
                "int_form",
                f"{L}: is not a whole number ≥ 0",
                lambda c: c.str.strip_chars().str.contains(INT_RE),
            )
        )
        lo, hi = f.min_value, f.max_value
        if lo is not None or hi is not None:
            rng = f"{lo if lo is not None else ''}–{hi if hi is not None else ''}"
            checks.append(_expr_check("int_range", f"{L}: is outside {rng}", lambda c: _in_range(c, lo, hi)))
    elif f.kind == "amount":
        checks.append(
            _expr_check(
                "amount_form",
                f"{L}: is not an amount in yuan with at most two decimals",
                lambda c: c.str.strip_chars().str.contains(AMOUNT_RE),
            )
        )
        if f.positive:
            checks.append(
                _expr_check(
                    "amount_positive",
                    f"{L}: is zero or negative",
                    lambda c: parse_amount_expr(c).is_null() | (parse_amount_expr(c) > 0),
                )
            )
        else:
            checks.append(
                _expr_check(
                    "amount_negative",
                    f"{L}: is negative",
                    lambda c: parse_amount_expr(c).is_null() | (parse_amount_expr(c) >= 0),
                )
            )
    elif f.kind == "enum":
        allowed = list(f.allowed)
        checks.append(
            _expr_check(
                "allowed_values", f"{L}: is not one of {', '.join(allowed)}", lambda c: c.is_in(allowed)
            )
        )
    elif f.kind == "bool":
        checks.append(
            _expr_check("bool_form", f"{L}: is not true or false", lambda c: c.is_in(["true", "false"]))
        )
    elif f.kind == "measures":
        # prepare() replaced the JSON by its problem (NULL when every measure is valid)
        checks.append(_expr_check("measures_valid", "measures", lambda c: pl.lit(False)))
    if spec.key and f.name == spec.key[0]:
        key = spec.key
        checks.append(
            _expr_check(
                "duplicate_key",
                f"{L}: key ({', '.join(key)}) repeats an earlier row of this file",
                # per file, whatever the batch: the same key in another file is supersession (dbt staging)
                lambda c: pl.struct([*key, "source_file"]).is_first_distinct(),
            )
        )
    return checks


def parse_amount_expr(c: pl.Expr) -> pl.Expr:
    e = c.str.strip_chars()
    return pl.when(e.str.contains(AMOUNT_RE)).then(
        e.str.replace_all(",", "").cast(pl.Decimal(18, 2), strict=False)
    )


def _in_range(c: pl.Expr, lo: int | None, hi: int | None) -> pl.Expr:
    e = c.str.strip_chars()
    v = pl.when(e.str.contains(INT_RE) & (e.str.len_chars() <= 9)).then(e.cast(pl.Int64, strict=False))
    ok = pl.lit(True)
    if lo is not None:
        ok = ok & (v >= lo)
    if hi is not None:
        ok = ok & (v <= hi)
    return v.is_null() | ok


def build_schema(spec: ExtractSpec, ctx: BatchContext) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {"source_row": pa.Column(pl.Int64)}
    columns.update(
        {name: pa.Column(dtype, nullable=True) for name, dtype in {**FILE_COLUMNS, **DERIVED_COLUMNS}.items()}
    )
    for f in spec.fields:
        if f.kind == "identity":
            columns[f.name + ID_STATUS] = pa.Column(
                pl.Utf8, checks=[pa.Check.isin(["ok"], name="identity", error=f"{f.label}")]
            )
            columns[f.name] = pa.Column(pl.Utf8, nullable=True)
        elif f.kind == "measures":
            columns[f.name] = pa.Column(pl.Utf8, nullable=True, checks=_field_checks(spec, f, ctx))
        else:
            columns[f.name] = pa.Column(pl.Utf8, nullable=not f.required, checks=_field_checks(spec, f, ctx))
        if f.kind == "timestamp":
            columns[f.name + PARSED] = pa.Column(pl.Datetime("us", "UTC"), nullable=True)
        if f.kind != "identity":
            columns[f.name + FREE_ID] = pa.Column(
                pl.Utf8, checks=[pa.Check.isin(["ok"], name="identity_in_text", error=f"{f.label}")]
            )
    frame_checks = []
    for rule, message in spec.row_rules:
        if rule == "registered_before_birth":
            expr = parse_date("registered_on", spec.date_forms) >= parse_date("birth_date", spec.date_forms)
        elif rule == "hospital_mismatch":
            expr = pl.col("hospital_code") == pl.col("file_hospital")
        else:  # pragma: no cover - a rule named in the contract without an implementation
            raise KeyError(rule)
        frame_checks.append(_frame_check(rule, message, expr))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True, ordered=False)


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
                problem, parsed = _measure_problem(v, month)
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
