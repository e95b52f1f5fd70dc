"""The 月督查 (monthly supervision) dashboard: the township scorecard of a month and the district's months
and quarters, with a year and a month filter (bi/provision.py provisions it; the report's section of the
same name is dagster_project/report/supervision.py).

The year filter applies to every chart; the month filter (its values those of the chosen year) to the
scorecards only: the charts by month and quarter show the whole year. Both default to the latest: the
first of their values sorted descending, so the dashboard follows the nightly publication. Rates are
computed from sums, as in bi/superset_charts.py: a quarter's sex ratio is 100 * sum(boys) / sum(girls) of
its months (metrics.md: a quarter is the sum of its months' flows, its rates built from those sums).
"""

from __future__ import annotations

from superset_charts import SCHEMA, SEX_RATIO, Chart, Dashboard, bars, metric, query, where

SLUG = "pfpw-supervision"
TITLE = "pfpw：月督查（月度督查与目标考核）"
POPULATION = "population_indicators_district_monthly"
FEE = "fee_collection_district_monthly"
YEAR_FILTER, MONTH_FILTER = "NATIVE_FILTER-pfpw-year", "NATIVE_FILTER-pfpw-month"
# the charts the month filter leaves alone: a year of months or quarters each
WHOLE_YEAR = ("各月出生人数", "各月末社会抚养费立案率（当年累计）", "各季度出生人口性别比")

HEADER = """\
### 月督查：月度督查与目标考核

The monthly and target marts of `{serving}`, opened **read-only** (Superset's database *{database}*).
Choose a **年度** and a **月份** above (both default to the latest): the scorecards are those of that
month's end; the charts by month and quarter show the chosen year. A target's *actual* is the year to
date at the month's end (metrics.md, "Target attainment"); ✓ met, ✗ missed. The same figures as the
report's 月督查 section (`pfpw report`).
"""

MONTH = {
    "expressionType": "SQL",
    "sqlExpression": "lpad(CAST(\"month\" AS VARCHAR), 2, '0') || '月'",
    "label": "月份",
}
QUARTER = {
    "expressionType": "SQL",
    "sqlExpression": "'第' || CAST((\"month\" + 2) // 3 AS VARCHAR) || '季度'",
    "label": "季度",
}
DECIMALS = ("综合得分", "目标", "实际（截至月末）")  # the tables' columns that may hold fractions
FILING_RATE_YTD = metric("100.0 * SUM(cases_filed_ytd) / SUM(cases_due_ytd)", "立案率（%，截至月末）")
# the indicators of reference/targets.csv (extracts.md), as the report names them
INDICATORS = {
    "births": "出生人数",
    "planned_birth_rate": "计划生育率（%）",
    "sex_ratio_at_birth": "出生人口性别比",
    "natural_growth_rate_permille": "人口自然增长率（‰）",
    "registration_coverage": "出生登记率（%）",
    "prepregnancy_checks": "孕前优生健康检查人数",
    "filing_rate": "立案率（%）",
    "collection_rate": "征收率（%）",
    "compliance_rate": "符合率（%）",
}


def column(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label}


def township_name(mart: str) -> dict:
    """The township's name that month (the targets' marts have codes only)."""
    return column(
        f"(SELECT max(p.township_name) FROM {SCHEMA}.population_indicators_monthly p "
        f"WHERE p.township_code = {mart}.area_code AND p.year = {mart}.year AND p.month = {mart}.month)",
        "乡镇（街道）",
    )


PERIOD = [('"year"', "年度"), ('"month"', "月份")]  # the month of the row, which the filters choose
SCORES = [("score", "综合得分"), ("targets_met", "达标数"), ("targets_total", "目标数")]


def table(name: str, mart: str, columns: list, level: str, order: list, width: int) -> Chart:
    """A table of the mart's rows as they are (raw mode: no aggregation) of one area level, latest month
    first; ``columns``: (SQL, label) pairs, or ad-hoc columns."""
    columns = [column(*c) if isinstance(c, tuple) else c for c in columns]
    order = [("year", False), ("month", False), *order]
    filters = [where(f"area_level = '{level}'")]
    params = {
        "viz_type": "table",
        "query_mode": "raw",
        "all_columns": columns,
        "order_by_cols": [f'["{c}", {str(asc).lower()}]' for c, asc in order],
        "adhoc_filters": filters,
        "row_limit": 10000,
        "server_pagination": False,
        "include_search": False,
        "show_cell_bars": False,
        "color_pn": False,
        "allow_rearrange_columns": False,
        "table_timestamp_format": "smart_date",
        # scores and rates to two places, counts without decimals (display only: the cells are the mart's)
        "column_config": {label: {"d3NumberFormat": ",.2~f"} for label in DECIMALS},
    }
    q = query(columns, [], filters, orderby=[list(o) for o in order])
    q["metrics"] = None  # raw rows: no GROUP BY
    return Chart(name, mart, params, [q], width=width, height=70, sources=[f"marts.{mart}"])


def charts() -> list[list[Chart]]:
    indicator = (
        "CASE indicator "
        + " ".join(f"WHEN '{code}' THEN '{label}'" for code, label in INDICATORS.items())
        + " ELSE indicator END"
    )
    scorecard = table(
        "乡镇（街道）目标考核得分（所选月末）",
        "target_scorecard",
        [
            *PERIOD,
            ('"rank"', "名次"),
            ("peers", "参评数"),
            township_name("target_scorecard"),
            *SCORES,
            ("points_earned", "所得分值"),
            ("points_possible", "总分值"),
        ],
        "township",
        [("rank", True), ("area_code", True)],
        6,
    )
    targets = table(
        "乡镇（街道）各项目标完成情况（所选月末）",
        "target_attainment",
        [
            *PERIOD,
            township_name("target_attainment"),
            (indicator, "指标"),
            ("CASE bound WHEN 'min' THEN '≥' WHEN 'max' THEN '≤' ELSE bound END", "要求"),
            ("target", "目标"),
            ("actual", "实际（截至月末）"),
            ("CASE WHEN met THEN '✓' WHEN NOT met THEN '✗' ELSE '—' END", "达标"),
            ("points_earned", "所得分值"),
            ("CAST(\"rank\" AS VARCHAR) || ' / ' || CAST(peers AS VARCHAR)", "名次"),
        ],
        "township",
        [("area_code", True), ("indicator", True)],
        6,
    )
    districts = table(
        "各区目标考核排名（市对区，所选月末）",
        "target_scorecard",
        [
            ("left(area_code, 4)", "城市"),
            ('"rank"', "名次"),
            ("peers", "参评数"),
            ("area_code", "区（区划代码）"),
            *SCORES,
        ],
        "district",
        [("rank", True), ("area_code", True)],
        5,
    )
    districts.height = 50
    births = bars(
        WHOLE_YEAR[0],
        POPULATION,
        MONTH,
        [metric("SUM(births)", "出生人数"), metric("SUM(births_unplanned)", "政策外出生人数")],
        groupby=["year"],
        number_format=",d",
        width=7,
        show_value=True,
        sources=[f"marts.{POPULATION}.births", "births_unplanned"],
    )
    filing = bars(
        WHOLE_YEAR[1],
        FEE,
        MONTH,
        [FILING_RATE_YTD],
        groupby=["year"],
        number_format=",.2f",
        width=6,
        extra={"viz_type": "echarts_timeseries_line", "markerEnabled": True, "y_axis_bounds": [0, 100]},
        sources=[f"marts.{FEE}.filing_rate_ytd"],
    )
    quarters = bars(
        WHOLE_YEAR[2],
        POPULATION,
        QUARTER,
        [SEX_RATIO],
        groupby=["year"],
        number_format=",.2f",
        width=6,
        show_value=True,
        extra={"viz_type": "echarts_timeseries_line", "markerEnabled": True, "truncateYAxis": True},
        sources=[f"marts.{POPULATION}.boys", "girls"],
    )
    return [[scorecard, targets], [births, districts], [filing, quarters]]


def filters(charts: dict[str, int], datasets: dict[str, int]) -> list[dict]:
    """The year and month filters (Superset's native filters, filter_select), their values from the
    district monthly mart; the month filter's values those of the chosen year (cascade)."""

    def select(filter_id: str, name: str, col: str, parents: list[str], excluded: list[int]) -> dict:
        return {
            "id": filter_id,
            "name": name,
            "type": "NATIVE_FILTER",
            "filterType": "filter_select",
            "targets": [{"datasetId": datasets[POPULATION], "column": {"name": col}}],
            "controlValues": {
                "enableEmptyFilter": True,  # a value is required
                "defaultToFirstItem": True,  # the first of the values: the latest, sorted descending
                "sortAscending": False,
                "multiSelect": False,
                "inverseSelection": False,
                "searchAllOptions": False,
                "creatable": False,
            },
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "requiredFirst": True,  # the first value applied when the dashboard opens, as the UI saves it
            "cascadeParentIds": parents,
            "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
            "chartsInScope": [i for i in charts.values() if i not in excluded],
            "tabsInScope": [],
            "description": "",
        }

    return [
        select(YEAR_FILTER, "年度", "year", [], []),
        select(MONTH_FILTER, "月份", "month", [YEAR_FILTER], [charts[name] for name in WHOLE_YEAR]),
    ]


def supervision() -> Dashboard:
    return Dashboard(SLUG, TITLE, HEADER, charts(), filters)
