"""Great Expectations suites for every mart, as code.

Each mart has a blocking suite (grain, keys, ranges, row-count drop since the last
publication) and the district marts a warning suite (plausibility bounds) and a
"district = sum of its townships" suite over a derived frame. Suites are built fresh
from these declarations on every run (and written to GX's stores only when they change:
``gx_runner.GxRunner._checkpoint``); nothing is hand-edited JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from dagster_project import settings

settings.quiet_great_expectations()  # no network calls, ever

if TYPE_CHECKING:
    import great_expectations as gx


def _gx():
    """Great Expectations, imported when a suite is built (its import takes seconds; loading the
    definitions, and a night with nothing new, do not need it)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


@dataclass(frozen=True)
class MartSpec:
    name: str
    grain: tuple[str, ...]
    percent_rates: tuple[str, ...] = ()  # 0..100 or NULL
    nonnegative_ratios: tuple[str, ...] = ()  # ≥ 0 or NULL (uncapped rates, per-mille rates, ratios)
    warn_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # plausibility, warning only
    district_of: str | None = None  # for a district mart: its township mart
    # a mart that is empty by right (the target marts without reference/targets.csv): no row-count floor
    may_be_empty: bool = False
    signed: tuple[
        str, ...
    ] = ()  # numeric columns that may be negative (a natural growth rate and its target)

    @property
    def is_district(self) -> bool:
        return self.district_of is not None


POP_PCT = (
    "planned_birth_rate",
    "villages_with_unplanned_share",
    "registration_coverage",
    "prepregnancy_high_risk_share",
)
POP_RATIOS = ("sex_ratio_at_birth", "birth_defect_rate_permille")
FEE_PCT = ("filing_rate", "compliance_rate")
FEE_RATIOS = ("collection_rate",)  # not capped at 100
PLAUSIBLE = {"sex_ratio_at_birth": (95.0, 125.0), "planned_birth_rate": (80.0, 100.0)}
# the monthly marts' year-to-date rates (metrics.md, "Monthly supervision"): the yearly rates with suffix _ytd
POP_MONTHLY_PCT = tuple(f"{r}_ytd" for r in POP_PCT if r != "villages_with_unplanned_share")
POP_MONTHLY_RATIOS = tuple(f"{r}_ytd" for r in POP_RATIOS)
FEE_MONTHLY_PCT = tuple(f"{r}_ytd" for r in FEE_PCT)
FEE_MONTHLY_RATIOS = tuple(f"{r}_ytd" for r in FEE_RATIOS)
TOWNSHIP_MONTH = ("year", "month", "township_code")
DISTRICT_MONTH = ("year", "month", "district_code")

MARTS: tuple[MartSpec, ...] = (
    MartSpec("population_indicators", ("year", "township_code"), POP_PCT, POP_RATIOS),
    MartSpec(
        "population_indicators_district",
        ("year", "district_code"),
        POP_PCT,
        POP_RATIOS,
        PLAUSIBLE,
        district_of="population_indicators",
    ),
    MartSpec("fee_collection", ("year", "township_code"), FEE_PCT, FEE_RATIOS),
    MartSpec(
        "fee_collection_district",
        ("year", "district_code"),
        FEE_PCT,
        FEE_RATIOS,
        district_of="fee_collection",
    ),
    MartSpec("enforcement_outcomes", ("year", "township_code")),
    MartSpec("enforcement_outcomes_district", ("year", "district_code"), district_of="enforcement_outcomes"),
    MartSpec("service_station_coverage", ("year", "township_code"), (), ("women_per_station",)),
    MartSpec(
        "service_station_coverage_district",
        ("year", "district_code"),
        ("township_coverage",),
        ("women_per_station",),
        district_of="service_station_coverage",
    ),
    MartSpec("village_indicators", ("year", "village_code")),
    MartSpec("population_indicators_monthly", TOWNSHIP_MONTH, POP_MONTHLY_PCT, POP_MONTHLY_RATIOS),
    MartSpec(
        "population_indicators_district_monthly",
        DISTRICT_MONTH,
        POP_MONTHLY_PCT,
        POP_MONTHLY_RATIOS,
        district_of="population_indicators_monthly",
    ),
    MartSpec("fee_collection_monthly", TOWNSHIP_MONTH, FEE_MONTHLY_PCT, FEE_MONTHLY_RATIOS),
    MartSpec(
        "fee_collection_district_monthly",
        DISTRICT_MONTH,
        FEE_MONTHLY_PCT,
        FEE_MONTHLY_RATIOS,
        district_of="fee_collection_monthly",
    ),
    MartSpec("enforcement_outcomes_monthly", TOWNSHIP_MONTH),
    MartSpec(
        "enforcement_outcomes_district_monthly", DISTRICT_MONTH, district_of="enforcement_outcomes_monthly"
    ),
    # metrics.md, "Target attainment": empty when no targets.csv is delivered (or it is withdrawn)
    MartSpec(
        "target_attainment",
        ("year", "month", "area_code", "indicator"),
        may_be_empty=True,
        signed=("target", "actual"),
    ),
    MartSpec("target_scorecard", ("year", "month", "area_code"), ("score",), may_be_empty=True),
)


def count_columns(df: pd.DataFrame, spec: MartSpec) -> list[str]:
    """Counts and amounts: every numeric column that is not the year, a rate, a ratio or a year-on-year change."""
    skip = (
        set(spec.grain) | {"year"} | set(spec.percent_rates) | set(spec.nonnegative_ratios) | set(spec.signed)
    )
    out = []
    for col in df.columns:
        if (
            col in skip
            or col.endswith(("_yoy", "_yoy_pp", "_yoy_pct"))
            or "rate" in col
            or col.endswith("_share")
        ):
            continue
        if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            out.append(col)
    return out


# the row-count floor is the value of this parameter in each validation: the suites stay the same from night
# to night (and are saved only when the code changes them, gx_runner.GxRunner._checkpoint)
ROW_FLOOR = "row_count_floor"
ROW_COUNT = "expect_table_row_count_to_be_between"


@dataclass(frozen=True)
class RowFloor:
    """The least rows a mart may have at this publication (None: no floor, the suite has no row count), and
    what a failure's description says of it."""

    rows: int | None
    hint: str | None = None

    @property
    def parameters(self) -> dict[str, int]:
        return {} if self.rows is None else {ROW_FLOOR: self.rows}

    @property
    def hints(self) -> dict[str, str]:
        return {ROW_COUNT: self.hint} if self.hint else {}


def row_floor(spec: MartSpec, previous_rows: int | None) -> RowFloor:
    """No floor for a mart that may be empty by right; otherwise at least one row, and not more than the
    configured share of the rows the last publication served lost (``PFPW_MAX_ROW_DROP_SHARE``)."""
    if spec.may_be_empty:
        return RowFloor(None)  # an empty mart is what the landing zone says (metrics.md)
    if not previous_rows:
        return RowFloor(1)
    share = settings.current().max_row_drop_share
    hint = (
        f"the last publication served {previous_rows} rows; losing more than {share:.0%} of "
        "them blocks publication. If the landing zone lost them on purpose (a withdrawn month or file), "
        "publish with one run under PFPW_MAX_ROW_DROP_SHARE above the share lost"
    )
    return RowFloor(math.ceil(previous_rows * (1 - share)), hint)


def blocking_suite(spec: MartSpec, df: pd.DataFrame) -> gx.ExpectationSuite:
    """Grain, keys, ranges, and (unless the mart may be empty) the row-count floor as the parameter
    ``ROW_FLOOR`` (``row_floor`` gives its value)."""
    gx, gxe = _gx()
    exp: list = [gxe.ExpectCompoundColumnsToBeUnique(column_list=list(spec.grain))]
    exp += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in spec.grain]
    if "district_code" in df.columns:
        exp.append(gxe.ExpectColumnValuesToNotBeNull(column="district_code"))
    exp += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in spec.percent_rates
    ]
    exp += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in spec.nonnegative_ratios]
    exp += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in count_columns(df, spec)]
    if not spec.may_be_empty:
        exp.append(gxe.ExpectTableRowCountToBeBetween(min_value={"$PARAMETER": ROW_FLOOR}))
    return gx.ExpectationSuite(name=f"{spec.name}.blocking", expectations=exp)


def warning_suite(spec: MartSpec) -> gx.ExpectationSuite | None:
    gx, gxe = _gx()
    if not spec.warn_bounds:
        return None
    exp = [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
        for c, (lo, hi) in spec.warn_bounds.items()
    ]
    return gx.ExpectationSuite(name=f"{spec.name}.warnings", expectations=exp)


def district_sum_frame(
    district: pd.DataFrame, townships: pd.DataFrame, spec: MartSpec
) -> tuple[pd.DataFrame, list[str]]:
    """One row per district row's grain (year [, month], district): the district's count minus the sum of its
    townships', per count column."""
    keys = list(spec.grain)
    cols = [c for c in count_columns(district, spec) if c in townships.columns]
    # a stock is NULL at district grain when any township's is: compare only where the district has a value
    sums = townships.groupby(keys, as_index=False)[cols].sum(min_count=1)
    merged = district.merge(sums, on=keys, how="outer", suffixes=("", "__townships"), indicator=True)
    out = merged[keys].copy()
    out["row_in_both"] = merged["_merge"] == "both"
    diffs = []
    for c in cols:
        d = (merged[c].astype("float64") - merged[f"{c}__townships"].astype("float64")).round(2)
        out[f"{c}__diff"] = d.where(merged[c].notna(), 0.0)
        diffs.append(f"{c}__diff")
    return out, diffs


def district_sum_suite(spec: MartSpec, diffs: list[str]) -> gx.ExpectationSuite:
    gx, gxe = _gx()
    exp: list = [gxe.ExpectColumnValuesToBeInSet(column="row_in_both", value_set=[True])]
    exp += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=0) for c in diffs]
    return gx.ExpectationSuite(name=f"{spec.name}.sums", expectations=exp)
