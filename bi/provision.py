"""Provision Superset through its REST API: serving.duckdb read-only, a dataset per mart, the district dashboard.

The database is registered with CONNECT_ARGS (below): read-only, no access to files, other databases or
extensions, its configuration locked.

Run with .bi-venv's Python (bi/run.sh does, once the server answers). Idempotent: the database is
found by name, the datasets by schema and table, the charts by name, the dashboard by its slug;
what exists is updated in place, so running it again changes nothing but what the code changed.

Every chart mirrors one of the report's (dagster_project/report/charts.py) or is a big number of a
district figure. Rates are computed from sums (e.g. 100 * sum(boys) / sum(girls)), the marts'
formulas (tests/test_marts_consistency.py): on one row of a mart they are the mart's column, and
they stay right whatever a user groups by. The township charts show the latest year of their mart
(a filter `year = (select max(year) ...)`), so the dashboard follows the nightly publication.

Every chart is saved with a query context (the query the chart-data API runs for it:
GET /api/v1/chart/<id>/data/), besides the form data the dashboard draws it from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field

import prison
import requests

DATABASE_NAME = "pfpw serving (read-only)"
SCHEMA = "marts"
DASHBOARD_SLUG = "pfpw-district"
DASHBOARD_TITLE = "pfpw：全区人口和计划生育指标"
# What every connection Superset opens to serving.duckdb is given when it opens (duckdb-engine passes
# `config` to duckdb.connect): read-only, and no access to anything outside the file. A read-only
# connection alone still reads any file the server's user can (read_text, read_csv, read_parquet, glob),
# attaches other DuckDB files, COPYs to files and loads extensions; enable_external_access=false refuses
# all of these, and lock_configuration=true refuses every SET, so a query cannot turn it back on (it can
# only be given at connect time: DuckDB refuses to enable it while the database runs).
# tests/test_bi.py reads these from here and opens the file with them too.
CONNECT_ARGS = {
    "read_only": True,
    "config": {"enable_external_access": False, "lock_configuration": True},
}
EXTRA = {"engine_params": {"connect_args": CONNECT_ARGS}}
YEAR_AXIS = {"expressionType": "SQL", "sqlExpression": 'make_date("year", 1, 1)', "label": "年度"}
YEAR_LABEL = {"expressionType": "SQL", "sqlExpression": "CAST(\"year\" AS VARCHAR) || '年'", "label": "年度"}


class ApiError(RuntimeError):
    pass


class Superset:
    """A logged-in REST client: a JWT for the API, the session cookie and CSRF token for writes."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Referer"] = self.url
        token = self.request(
            "POST",
            "security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["X-CSRFToken"] = self.request("GET", "security/csrf_token/")["result"]

    def request(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, f"{self.url}/api/v1/{path}", timeout=120, **kwargs)
        if response.status_code >= 400:
            raise ApiError(f"{method} /api/v1/{path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else {}

    def find(self, resource: str, columns: list[str] | None = None, **equal) -> list[dict]:
        query = {
            "filters": [{"col": col, "opr": "eq", "value": value} for col, value in equal.items()],
            "page_size": 100,
        }
        if columns:
            query["columns"] = columns
        return self.request("GET", f"{resource}/", params={"q": prison.dumps(query)})["result"]


def wait_until_up(url: str, server_pid: int | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server_pid is not None:
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                raise SystemExit("bi: Superset stopped before it answered (its log is above)") from None
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or its worker still loading the app
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"bi: Superset did not answer on {url} within {timeout:.0f} s")
        time.sleep(0.5)


# ---------------------------------------------------------------------------------------------------
# the charts


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


HEADER = """\
### 全区人口和计划生育指标

The marts of `{serving}`, opened **read-only** (Superset's database *{database}*). Big numbers: the
latest year of the district, its change on the year before, the trend over the covered years.
Township charts: the latest year of their mart. Rates are recomputed from the marts' sums, which is
the marts' own formula. The same figures as the report (`pfpw report`).
"""


# ---------------------------------------------------------------------------------------------------
# provisioning


def provision_database(api: Superset, serving: str) -> int:
    body = {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": f"duckdb:///{serving}",
        "extra": json.dumps(EXTRA),
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_dml": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_file_upload": False,
    }
    found = api.find("database", database_name=DATABASE_NAME)
    if found:  # an older registration is brought to these settings, its extra (connect_args) included
        database_id = found[0]["id"]
        api.request("PUT", f"database/{database_id}", json=body)
    else:
        database_id = api.request("POST", "database/", json=body)["id"]
    extra = json.loads(api.request("GET", f"database/{database_id}/connection")["result"]["extra"])
    if extra.get("engine_params") != EXTRA["engine_params"]:
        raise ApiError(f"database {database_id} has engine_params {extra.get('engine_params')}, not {EXTRA}")
    return database_id


def provision_datasets(api: Superset, database_id: int) -> dict[str, int]:
    tables = api.request(
        "GET",
        f"database/{database_id}/tables/",
        params={"q": prison.dumps({"schema_name": SCHEMA, "force": True})},
    )["result"]
    marts = sorted(t["value"] for t in tables if t["type"] == "table")
    existing = {
        d["table_name"]: d["id"]
        for d in api.find("dataset", columns=["id", "table_name", "schema", "database.id"], schema=SCHEMA)
        if d.get("database", {}).get("id") == database_id
    }
    datasets = {}
    for table in marts:
        if table in existing:
            datasets[table] = existing[table]
            api.request("PUT", f"dataset/{existing[table]}/refresh")  # columns the mart gained since
        else:
            datasets[table] = api.request(
                "POST", "dataset/", json={"database": database_id, "schema": SCHEMA, "table_name": table}
            )["id"]
    return datasets


def provision_dashboard(
    api: Superset, rows: list[list[Chart]], datasets: dict[str, int], serving: str
) -> int:
    found = api.find("dashboard", slug=DASHBOARD_SLUG)
    if found:
        dashboard_id = found[0]["id"]
    else:
        dashboard_id = api.request(
            "POST", "dashboard/", json={"dashboard_title": DASHBOARD_TITLE, "slug": DASHBOARD_SLUG}
        )["id"]

    existing = {c["slice_name"]: c["id"] for c in api.find("chart", columns=["id", "slice_name"]) if c}
    placed = []
    for row in rows:
        for chart in row:
            datasource = datasets[chart.mart]
            params = {**chart.params, "datasource": f"{datasource}__table"}
            context = {
                "datasource": {"id": datasource, "type": "table"},
                "force": False,
                "queries": chart.queries,
                "form_data": params,
                "result_format": "json",
                "result_type": "full",
            }
            body = {
                "slice_name": chart.name,
                "viz_type": chart.params["viz_type"],
                "datasource_id": datasource,
                "datasource_type": "table",
                "params": json.dumps(params, ensure_ascii=False),
                "query_context": json.dumps(context, ensure_ascii=False),
                "description": "; ".join(chart.sources) or None,
                "dashboards": [dashboard_id],
            }
            if chart.name in existing:
                chart_id = existing[chart.name]
                api.request("PUT", f"chart/{chart_id}", json=body)
            else:
                chart_id = api.request("POST", "chart/", json=body)["id"]
            placed.append((chart, chart_id))

    api.request(
        "PUT",
        f"dashboard/{dashboard_id}",
        json={
            "dashboard_title": DASHBOARD_TITLE,
            "slug": DASHBOARD_SLUG,
            "published": True,
            "position_json": json.dumps(
                layout(rows, dict((id(c), i) for c, i in placed), serving), ensure_ascii=False
            ),
            "json_metadata": json.dumps(
                {
                    "color_scheme": "supersetColors",
                    "refresh_frequency": 0,
                    "cross_filters_enabled": False,
                    "native_filter_configuration": [],
                    "timed_refresh_immune_slices": [],
                    "expanded_slices": {},
                    "label_colors": {},
                    "shared_label_colors": [],
                    "chart_configuration": {},
                }
            ),
        },
    )
    return dashboard_id


def layout(rows: list[list[Chart]], ids: dict[int, int], serving: str) -> dict:
    """The dashboard's position_json: a header, then one grid row per list of charts."""
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": DASHBOARD_TITLE}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }

    def add_row(n: int, components: list[dict]) -> None:
        row_id = f"ROW-{n}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [c["id"] for c in components],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for component in components:
            component["parents"] = ["ROOT_ID", "GRID_ID", row_id]
            position[component["id"]] = component

    add_row(
        0,
        [
            {
                "type": "MARKDOWN",
                "id": "MARKDOWN-header",
                "children": [],
                "meta": {
                    "width": 12,
                    "height": 14,
                    "code": HEADER.format(serving=serving, database=DATABASE_NAME),
                },
            }
        ],
    )
    for n, row in enumerate(rows, start=1):
        add_row(
            n,
            [
                {
                    "type": "CHART",
                    "id": f"CHART-{ids[id(chart)]}",
                    "children": [],
                    "meta": {
                        "chartId": ids[id(chart)],
                        "width": chart.width,
                        "height": chart.height,
                        "sliceName": chart.name,
                    },
                }
                for chart in row
            ],
        )
    return position


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--serving", required=True, help="absolute path of serving.duckdb")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default=os.environ.get("PFPW_BI_PASSWORD") or "admin")
    parser.add_argument("--server-pid", type=int, help="give up at once if this process (gunicorn) ends")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for the server")
    args = parser.parse_args(argv)

    started = time.monotonic()
    wait_until_up(args.url, args.server_pid, args.timeout)
    up = time.monotonic()
    api = Superset(args.url, args.username, args.password)
    database_id = provision_database(api, args.serving)
    datasets = provision_datasets(api, database_id)
    rows = charts()
    dashboard_id = provision_dashboard(api, rows, datasets, args.serving)
    print(
        f"bi: server up in {up - started:.0f} s; provisioned in {time.monotonic() - up:.0f} s: database "
        f"{database_id} ({args.serving}, read-only, no external access), {len(datasets)} datasets of schema {SCHEMA}, "
        f"{sum(len(r) for r in rows)} charts, dashboard {dashboard_id} ({args.url}/superset/dashboard/{DASHBOARD_SLUG}/)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
