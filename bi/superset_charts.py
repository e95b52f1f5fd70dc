"""The dashboard's charts, as Superset's form data and saved query contexts (bi/provision.py saves them).

Every chart mirrors one of the report's (dagster_project/report/charts.py) or is a big number of a
district figure. Rates are computed from sums (e.g. 100 * sum(boys) / sum(girls)), the marts'
formulas (tests/test_marts_consistency.py): on one row of a mart they are the mart's column, and
they stay right whatever a user groups by. The township charts show the latest year of their mart
(a filter `year = (select max(year) ...)`), so the dashboard follows the nightly publication.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SCHEMA = "marts"
YEAR_AXIS = {"expressionType": "SQL", "sqlExpression": 'make_date("year", 1, 1)', "label": "年度"}
YEAR_LABEL = {"expressionType": "SQL", "sqlExpression": "CAST(\"year\" AS VARCHAR) || '年'", "label": "年度"}


def metric(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label, "hasCustomLabel": True}


def where(sql: str) -> dict:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql}


def latest_year(mart: str, years: int = 1) -> dict:
    """The latest year of the mart (or the latest `years` years): the dashboard follows the publication."""
    if years == 1:
        return where(f'"year" = (SELECT max("year") FROM {SCHEMA}.{mart})')
    return where(f'"year" > (SELECT max("year") - {years} FROM {SCHEMA}.{mart})')


BIRTHS = metric("SUM(births)", "出生人数")
BIRTHS_UNPLANNED = metric("SUM(births_unplanned)", "政策外出生人数")
PLANNED_BIRTH_RATE = metric("100.0 * (SUM(births) - SUM(births_unplanned)) / SUM(births)", "计划生育率（%）")
SEX_RATIO = metric("100.0 * SUM(boys) / SUM(girls)", "出生人口性别比（女=100）")
FILING_RATE = metric("100.0 * SUM(cases_filed) / SUM(cases_due)", "立案率（%）")
COLLECTION_RATE = metric(
    "100.0 * SUM(amount_collected)::DOUBLE / SUM(amount_assessed)::DOUBLE", "征收率（%）"
)
COMPLIANCE_RATE = metric("100.0 * SUM(cases_compliant) / SUM(cases_due)", "符合率（%）")
TOWNSHIP_COVERAGE = metric(
    "100.0 * SUM(townships_with_station) / SUM(townships_total)", "服务站乡镇覆盖率（%）"
)


@dataclass
class Chart:
    name: str  # the chart's name in Superset, and the key provisioning finds it by
    mart: str
    params: dict  # the form data the dashboard draws the chart from (without the datasource)
    queries: list[dict]  # the query objects of the chart's saved query context
    width: int = 4  # of the dashboard's 12 columns
    height: int = 50  # in the dashboard's grid units (8 px)
    sources: list[str] = field(default_factory=list)


@dataclass
class Dashboard:
    slug: str  # the key provisioning finds it by
    title: str
    header: str  # the markdown above the charts, formatted with serving= and database=
    rows: list[list[Chart]]
    # its native filters: json_metadata's native_filter_configuration, of the ids provisioning gave the
    # charts (by name) and the datasets (by table)
    filters: Callable[[dict[str, int], dict[str, int]], list[dict]] | None = None


def query(columns: list, metrics: list[dict], filters: list[dict], orderby: list | None = None) -> dict:
    """A query object as Superset's frontend builds it from the form data (ad-hoc SQL filters in `where`)."""
    where_sql = " AND ".join(f"({f['sqlExpression']})" for f in filters)
    return {
        "columns": columns,
        "metrics": metrics,
        "orderby": orderby if orderby is not None else [[metrics[0], False]],
        "filters": [],
        "extras": {"where": where_sql, "having": ""},
        "row_limit": 10000,
        "order_desc": True,
        "annotation_layers": [],
        "series_limit": 0,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }


def big_number(name: str, mart: str, measure: dict, number_format: str, sources: list[str]) -> Chart:
    """The latest year's district figure, its change on the year before and its trend over the covered years."""
    params = {
        "viz_type": "big_number",
        "x_axis": YEAR_AXIS,
        "time_grain_sqla": "P1Y",
        "metric": measure,
        "adhoc_filters": [],
        "show_trend_line": True,
        "start_y_axis_at_zero": False,
        "compare_lag": 1,
        "compare_suffix": "比上年",
        "show_timestamp": True,
        "time_format": "%Y",
        "y_axis_format": number_format,
        "header_font_size": 0.3,
        "subheader_font_size": 0.125,
        "rolling_type": "None",
    }
    axis = {**YEAR_AXIS, "columnType": "BASE_AXIS", "timeGrain": "P1Y"}
    return Chart(
        name,
        mart,
        params,
        [query([axis], [measure], [], orderby=[[axis, True]])],
        width=2,
        height=40,
        sources=sources,
    )


def bars(
    name: str,
    mart: str,
    x,
    measures: list[dict],
    *,
    groupby: list | None = None,
    filters: list[dict] | None = None,
    number_format: str = "SMART_NUMBER",
    sort_by_value: bool = False,
    stack: bool = False,
    show_value: bool = False,
    width: int = 6,
    extra: dict | None = None,
    sources: list[str] | None = None,
) -> Chart:
    groupby = groupby or []
    filters = filters or []
    params = {
        "viz_type": "echarts_timeseries_bar",
        "x_axis": x,
        "metrics": measures,
        "groupby": groupby,
        "adhoc_filters": filters,
        "row_limit": 10000,
        "orientation": "vertical",
        "stack": "Stack" if stack else None,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "show_value": show_value,
        "y_axis_format": number_format,
        "xAxisLabelRotation": 45 if isinstance(x, str) else 0,
        "x_axis_sort_asc": not sort_by_value,
        "rich_tooltip": True,
        "truncateXAxis": True,
        "y_axis_bounds": [None, None],
        "color_scheme": "supersetColors",
        "only_total": True,
        **(extra or {}),
    }
    if sort_by_value:
        params["x_axis_sort"] = measures[0]["label"]
    columns = [x, *groupby]
    return Chart(
        name,
        mart,
        params,
        [query(columns, measures, filters, orderby=[[c, True] for c in columns])],
        width=width,
        sources=sources or [],
    )


def births_and_sex_ratio() -> Chart:
    """The report's births-sex-ratio: births (bars) and sex ratio at birth (line, right axis) by township."""
    filters = [latest_year("population_indicators")]
    common = {
        "x_axis": "township_name",
        "groupby": [],
        "groupby_b": [],
        "row_limit": 10000,
        "row_limit_b": 10000,
    }
    params = {
        "viz_type": "mixed_timeseries",
        **common,
        "metrics": [BIRTHS],
        "metrics_b": [SEX_RATIO],
        "adhoc_filters": filters,
        "adhoc_filters_b": filters,
        "seriesType": "bar",
        "seriesTypeB": "line",
        "yAxisIndex": 0,
        "yAxisIndexB": 1,
        "markerEnabledB": True,
        "markerSizeB": 6,
        "y_axis_format": ",d",
        "y_axis_format_secondary": ".2f",
        "y_axis_bounds_secondary": [None, None],
        "xAxisLabelRotation": 45,
        "show_legend": True,
        "legendOrientation": "top",
        "rich_tooltip": True,
        "truncateXAxis": True,
        "color_scheme": "supersetColors",
        "zoomable": False,
    }
    order = [["township_name", True]]
    return Chart(
        "各乡镇（街道）出生人数与出生人口性别比（最新年度）",
        "population_indicators",
        params,
        [
            query(["township_name"], [BIRTHS], filters, orderby=order),
            query(["township_name"], [SEX_RATIO], filters, orderby=order),
        ],
        width=6,
        sources=["marts.population_indicators.births", "marts.population_indicators.sex_ratio_at_birth"],
    )


def charts() -> list[list[Chart]]:
    """The dashboard's rows of charts."""
    district_figures = [
        big_number(
            "出生人数",
            "population_indicators_district",
            BIRTHS,
            ",d",
            ["population_indicators_district.births"],
        ),
        big_number(
            "计划生育率（%）",
            "population_indicators_district",
            PLANNED_BIRTH_RATE,
            ",.2f",
            ["population_indicators_district.planned_birth_rate"],
        ),
        big_number(
            "出生人口性别比",
            "population_indicators_district",
            SEX_RATIO,
            ",.2f",
            ["population_indicators_district.sex_ratio_at_birth"],
        ),
        big_number(
            "社会抚养费立案率（%）",
            "fee_collection_district",
            FILING_RATE,
            ",.2f",
            ["fee_collection_district.filing_rate"],
        ),
        big_number(
            "社会抚养费征收率（%）",
            "fee_collection_district",
            COLLECTION_RATE,
            ",.2f",
            ["fee_collection_district.collection_rate"],
        ),
        big_number(
            "社会抚养费符合率（%）",
            "fee_collection_district",
            COMPLIANCE_RATE,
            ",.2f",
            ["fee_collection_district.compliance_rate"],
        ),
    ]
    townships = [
        births_and_sex_ratio(),
        bars(
            "各乡镇（街道）计划生育率（最新年度）",
            "population_indicators",
            "township_name",
            [PLANNED_BIRTH_RATE],
            filters=[latest_year("population_indicators")],
            number_format=",.2f",
            sort_by_value=True,
            extra={"y_axis_bounds": [80, 100]},
            sources=["marts.population_indicators.planned_birth_rate"],
        ),
    ]
    fees = [
        bars(
            f"各乡镇（街道）社会抚养费{label}（最近两年）",
            "fee_collection",
            "township_name",
            [measure],
            groupby=["year"],
            filters=[latest_year("fee_collection", years=2)],
            number_format=",.2f",
            width=4,
            sources=[f"marts.fee_collection.{column}"],
        )
        for label, measure, column in (
            ("立案率", FILING_RATE, "filing_rate"),
            ("征收率", COLLECTION_RATE, "collection_rate"),
            ("符合率", COMPLIANCE_RATE, "compliance_rate"),
        )
    ]
    years = [
        bars(
            "执法措施：案件（件）与司法拘留（人），各年度",
            "enforcement_outcomes_district",
            YEAR_LABEL,
            [
                metric("SUM(court_applications)", "申请强制执行"),
                metric("SUM(court_rejections)", "不予执行"),
                metric("SUM(judicial_detentions)", "司法拘留"),
                metric("SUM(liangfei_cases)", "“两非”案件"),
            ],
            number_format=",d",
            width=4,
            show_value=True,
            sources=["marts.enforcement_outcomes_district"],
        ),
        bars(
            "执法措施：冻结、划拨银行存款（元），各年度",
            "enforcement_outcomes_district",
            YEAR_LABEL,
            [
                metric("SUM(deposits_frozen_amount)", "冻结存款"),
                metric("SUM(deposits_transferred_amount)", "划拨存款"),
                metric("SUM(deposits_amount)", "冻结划拨银行存款"),
            ],
            number_format=",.0f",
            width=4,
            sources=["marts.enforcement_outcomes_district"],
        ),
        bars(
            "各年度出生人数与政策外出生人数",
            "population_indicators_district",
            YEAR_LABEL,
            [BIRTHS, BIRTHS_UNPLANNED],
            number_format=",d",
            width=4,
            show_value=True,
            sources=["marts.population_indicators_district.births", "births_unplanned"],
        ),
    ]
    stations = [
        bars(
            "各乡镇（街道）计划生育服务站（最新年度12月31日）",
            "service_station_coverage",
            "township_name",
            [
                metric("SUM(stations_central)", "中心站"),
                metric("SUM(stations_level1)", "一级站"),
                metric("SUM(stations_level2)", "二级站"),
            ],
            filters=[latest_year("service_station_coverage")],
            number_format=",.1~f",  # a township has a station or none: ",d" would label the ticks 0, 0, 1, 1
            stack=True,
            width=10,
            sources=["marts.service_station_coverage"],
        ),
        big_number(
            "服务站乡镇覆盖率（%）",
            "service_station_coverage_district",
            TOWNSHIP_COVERAGE,
            ",.2f",
            ["service_station_coverage_district.township_coverage"],
        ),
    ]
    stations[1].height = 50
    return [district_figures, townships, fees, years, stations]
