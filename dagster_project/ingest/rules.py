"""The row rules of every extract as a pandera schema (polars backend), and the court's measures."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from dagster_project.ingest.frames import (
    DERIVED_COLUMNS,
    FILE_COLUMNS,
    FREE_ID,
    ID_STATUS,
    MONTH,
    MONTH_END,
    MONTH_LIMIT,
    PARSED,
    BatchContext,
)
from dagster_project.ingest.parse import (
    AMOUNT_RE,
    INT_RE,
    month_end,
    parse_date,
)
from dagster_project.schemas.contract import MEASURE_TYPES, ExtractSpec, Field

# ------------------------------------------------------------------ measures (court)


def measure_problem(text: str | None, month: str) -> tuple[str | None, list[dict] | None]:
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


def _written_as(pattern: str):
    """A check's fn: the text, without the blanks around it, matches pattern (INT_RE, AMOUNT_RE)."""
    return lambda c: c.str.strip_chars().str.contains(pattern)


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
        checks.append(_expr_check("int_form", f"{L}: is not a whole number ≥ 0", _written_as(INT_RE)))
        lo, hi = f.min_value, f.max_value
        if lo is not None or hi is not None:
            rng = f"{lo if lo is not None else ''}–{hi if hi is not None else ''}"
            checks.append(_expr_check("int_range", f"{L}: is outside {rng}", lambda c: _in_range(c, lo, hi)))
    elif f.kind == "amount":
        checks.append(
            _expr_check(
                "amount_form",
                f"{L}: is not an amount in yuan with at most two decimals",
                _written_as(AMOUNT_RE),
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
