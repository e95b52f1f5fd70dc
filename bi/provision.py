"""Provision Superset through its REST API: serving.duckdb read-only, a dataset per mart, the dashboards.

The database is registered with CONNECT_ARGS (below): read-only, no access to files, other databases or
extensions, its configuration locked.

Run with .bi-venv's Python (bi/run.sh does, once the server answers). Idempotent: the database is
found by name, the datasets by schema and table, the charts by name, the dashboards by their slug;
what exists is updated in place, so running it again changes nothing but what the code changed.

Two dashboards: the district's (bi/superset_charts.py: each chart mirrors one of the report's, or is a
big number of a district figure) and the 月督查 (bi/supervision_charts.py: the monthly supervision, with
a year and a month filter). The REST client is bi/superset_api.py's.

Every chart is saved with a query context (the query the chart-data API runs for it:
GET /api/v1/chart/<id>/data/), besides the form data the dashboard draws it from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import prison

# siblings in bi/, imported from the script's folder (sys.path[0] when run as `python bi/provision.py`)
from superset_api import ApiError, Superset, wait_until_up
from superset_charts import SCHEMA, Dashboard, charts
from supervision_charts import supervision

DATABASE_NAME = "pfpw serving (read-only)"
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


def district() -> Dashboard:
    """The district's dashboard: its figures by year and township (bi/superset_charts.py)."""
    return Dashboard(DASHBOARD_SLUG, DASHBOARD_TITLE, HEADER, charts())


def provision_dashboard(api: Superset, dashboard: Dashboard, datasets: dict[str, int], serving: str) -> int:
    rows = dashboard.rows
    found = api.find("dashboard", slug=dashboard.slug)
    if found:
        dashboard_id = found[0]["id"]
    else:
        dashboard_id = api.request(
            "POST", "dashboard/", json={"dashboard_title": dashboard.title, "slug": dashboard.slug}
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

    native_filters = dashboard.filters({c.name: i for c, i in placed}, datasets) if dashboard.filters else []
    api.request(
        "PUT",
        f"dashboard/{dashboard_id}",
        json={
            "dashboard_title": dashboard.title,
            "slug": dashboard.slug,
            "published": True,
            "position_json": json.dumps(
                layout(dashboard, dict((id(c), i) for c, i in placed), serving), ensure_ascii=False
            ),
            "json_metadata": json.dumps(
                {
                    "color_scheme": "supersetColors",
                    "refresh_frequency": 0,
                    "cross_filters_enabled": False,
                    "native_filter_configuration": native_filters,
                    "timed_refresh_immune_slices": [],
                    "expanded_slices": {},
                    "label_colors": {},
                    "shared_label_colors": [],
                    "chart_configuration": {},
                },
                ensure_ascii=False,
            ),
        },
    )
    return dashboard_id


def layout(dashboard: Dashboard, ids: dict[int, int], serving: str) -> dict:
    """The dashboard's position_json: a header, then one grid row per list of charts."""
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard.title}},
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
                    "code": dashboard.header.format(serving=serving, database=DATABASE_NAME),
                },
            }
        ],
    )
    for n, row in enumerate(dashboard.rows, start=1):
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
    dashboards = [district(), supervision()]
    ids = [provision_dashboard(api, d, datasets, args.serving) for d in dashboards]
    print(
        f"bi: server up in {up - started:.0f} s; provisioned in {time.monotonic() - up:.0f} s: database "
        f"{database_id} ({args.serving}, read-only, no external access), {len(datasets)} datasets of schema {SCHEMA}, "
        + ", ".join(
            f"dashboard {i} of {sum(len(r) for r in d.rows)} charts ({args.url}/superset/dashboard/{d.slug}/)"
            for d, i in zip(dashboards, ids, strict=True)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
