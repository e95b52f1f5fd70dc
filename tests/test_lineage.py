"""Column lineage: parsed from dbt's compiled SQL, on every model's materialization, served, and in the report.

The sample run's instance is served by a real `dagster-webserver`, and its GraphQL API (what the UI
reads) is walked from `marts/fee_collection.filing_rate` down to the ingested extracts.
"""

import os
from collections import deque
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project import lineage
from dagster_project.report.data import load
from dagster_project.report.page import render_page
from dagster_project.settings import PROJECT_DIR
from tests.processes import NOT_YET, free_port, graphql, start, stop_group, wait_until

pytestmark = pytest.mark.xdist_group("sample_run")

LINEAGE_QUERY = """
{ assetNodeOrError(assetKey: {path: PATH}) {
  __typename
  ... on AssetNode { assetMaterializations(limit: 1) { runId metadataEntries {
    label
    ... on TableColumnLineageMetadataEntry { lineage { columnName columnDeps { assetKey { path } columnName } } }
  } } } } }
"""
# the only mart columns computed from no column: none (a constant would be listed here)
CONSTANT_MART_COLUMNS: set[tuple[str, str]] = set()


def served_lineage(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "serving.duckdb"), read_only=True)
    try:
        return con.execute("select * from audit.column_lineage").fetchall()
    finally:
        con.close()


def test_every_mart_column_is_served_with_what_it_is_computed_from(sample_run):
    assert sample_run["code"] == 0
    rows = served_lineage(sample_run["warehouse"])
    con = duckdb.connect(str(sample_run["warehouse"] / "serving.duckdb"), read_only=True)
    try:
        mart_columns = set(
            con.execute(
                "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
            ).fetchall()
        )
    finally:
        con.close()
    with_upstream = {(r[0], r[2]) for r in rows if r[1] == "marts" and r[4] and r[2] != "*"}
    listed = {(r[0], r[2]) for r in rows if r[1] == "marts" and r[2] != "*"}
    assert len(mart_columns) > 150
    assert listed == mart_columns
    assert mart_columns - with_upstream == CONSTANT_MART_COLUMNS
    # the extracts' Chinese headers come with the source columns
    headers = {(r[5], r[6]): r[7] for r in rows if r[4] == "source"}
    assert headers[("finance.fee_decisions", "decided_on")] == "决定日期"
    assert headers[("township.births", "registered_on")] == "登记日期"


def test_the_filing_rate_walks_down_to_the_finance_decisions_and_the_township_registrations(sample_run):
    served = load(sample_run["warehouse"] / "serving.duckdb")
    up = {(d["layer"], d["model"], d["column"]) for d in served.upstream("fee_collection", "filing_rate")}
    assert ("intermediate", "int_fee_cases", "is_filed") in up
    assert ("intermediate", "int_fee_cases", "*") in up  # cases due: count(*) of the fee cases
    assert ("staging", "stg_finance__fee_decisions", "decided_on") in up
    assert ("source", "finance.fee_decisions", "decided_on") in up
    assert ("source", "township.births", "registered_on") in up
    births = {(d["model"], d["column"]) for d in served.upstream("population_indicators", "births")}
    assert ("township.births", "*") in births  # births count the registrations' rows


def test_the_report_says_how_each_indicator_is_computed(sample_run):
    html = render_page(load(sample_run["warehouse"] / "serving.duckdb"), 2012)
    section = html[html.index('<section class="lineage"') :]
    section = section[: section.index("</section>")]
    row = section[section.index("立案率（%）") :]
    row = row[: row.index("</tr>")]
    assert "fee_collection_district.filing_rate" in row
    assert "int_fee_cases" in row and "is_filed" in row
    assert "finance.fee_decisions" in row and "决定日期" in row
    assert "township.births" in row and "登记日期" in row


def test_every_model_materialization_carries_its_column_lineage(sample_run):
    instance = dg.DagsterInstance.from_config(str(sample_run["dagster_home"]))
    try:
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fee_collection"]))
        metadata = event.asset_materialization.metadata
        deps = metadata["dagster/column_lineage"].value.deps_by_column
        assert (
            dg.TableColumnDep(dg.AssetKey(["intermediate", "int_fee_cases"]), "is_filed")
            in deps["filing_rate"]
        )
        columns = {c.name for c in metadata["dagster/column_schema"].value.columns}
        assert {"filing_rate", "collection_rate", "compliance_rate"} <= columns
        base = instance.get_latest_materialization_event(
            dg.AssetKey(["staging", "base_finance__fee_decisions"])
        )
        base_deps = base.asset_materialization.metadata["dagster/column_lineage"].value.deps_by_column
        assert (
            dg.TableColumnDep(dg.AssetKey(["lake", "finance_fee_decisions"]), "decided_on")
            in base_deps["decided_on"]
        )
    finally:
        instance.dispose()


@pytest.fixture(scope="module")
def webserver(sample_run, tmp_path_factory):
    """`dagster-webserver` on the sample run's instance, as `make ui` serves it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    env = dict(
        os.environ,
        DAGSTER_HOME=str(sample_run["dagster_home"]),
        PFPW_WAREHOUSE_DIR=str(sample_run["warehouse"]),
        PFPW_SOURCES_DIR=str(sample_run["sources"]),
    )
    web = PROJECT_DIR / ".venv" / "bin" / "dagster-webserver"
    proc = start([str(web), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)], log, env=env)

    def serves_the_assets() -> bool:
        query = '{ assetNodeOrError(assetKey: {path: ["marts", "fee_collection"]}) { __typename } }'
        return graphql(url, query)["assetNodeOrError"]["__typename"] == "AssetNode"

    try:
        # an answer with errors (AssertionError) while the code location loads is not yet an answer
        wait_until(
            "dagster-webserver to serve the assets",
            serves_the_assets,
            120,
            proc,
            log=log,
            not_yet=(*NOT_YET, AssertionError),
        )
        yield url
    finally:
        stop_group(proc)


def column_deps(url: str, cache: dict, asset: tuple[str, ...]) -> dict[str, set[tuple[tuple[str, ...], str]]]:
    """An asset's column lineage, as its latest materialization in the UI's GraphQL API has it."""
    if asset not in cache:
        path = ", ".join(f'"{p}"' for p in asset)
        data = graphql(url, LINEAGE_QUERY.replace("PATH", f"[{path}]"))
        node = data["assetNodeOrError"]
        deps: dict[str, set] = {}
        for event in node.get("assetMaterializations") or []:
            for entry in event["metadataEntries"]:
                if entry["label"] == "dagster/column_lineage":
                    for item in entry["lineage"]:
                        deps[item["columnName"]] = {
                            (tuple(d["assetKey"]["path"]), d["columnName"]) for d in item["columnDeps"]
                        }
        cache[asset] = deps
    return cache[asset]


def test_the_ui_graphql_api_shows_the_filing_rate_upstream_to_the_extracts(webserver):
    cache: dict = {}
    start = (("marts", "fee_collection"), "filing_rate")
    seen, todo = set(), deque([start])
    while todo:
        asset, column = todo.popleft()
        for dep in column_deps(webserver, cache, asset).get(column, set()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    assert (("intermediate", "int_fee_cases"), "is_filed") in seen
    assert (("lake", "finance_fee_decisions"), "decided_on") in seen, sorted(seen)
    assert (("lake", "township_births"), "registered_on") in seen, sorted(seen)


# ---- the parser on small SQL, without dbt ------------------------------------------------------------


def node(uid: str, kind: str, relation: str, columns: list[str]) -> lineage.Node:
    return lineage.Node(
        uid, uid.split(".")[-1], kind, "staging", relation, dict.fromkeys(columns, "varchar"), {}
    )


def test_counts_windows_and_lake_sources_are_traced():
    source = node("source.p.s.t", "source", "read_parquet('/x/lake/t/**/*.parquet')", ["k", "v", "m"])
    source = lineage.Node(source.unique_id, "s.t", "source", "source", source.relation, source.columns, {})
    model = node("model.p.m", "model", '"w"."staging"."m"', ["k", "n", "r", "total"])
    sql = """
        with ranked as (
            select k, v, row_number() over w as r
            from read_parquet('/x/lake/t/**/*.parquet')
            window w as (partition by k order by m desc)
        )
        select k, count(*) as n, max(r) as r, sum(v::int) as total from ranked group by k
    """
    deps = lineage.model_lineage(sql, model, [source])
    assert deps["k"] == [(source.unique_id, "k")]
    assert deps["n"] == [(source.unique_id, "*")]
    assert set(deps["r"]) == {(source.unique_id, "k"), (source.unique_id, "m")}
    assert deps["total"] == [(source.unique_id, "v")]
    assert deps["*"] == [(source.unique_id, "*")]
