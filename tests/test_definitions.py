"""The Dagster definitions load, and the asset graph runs unbroken from ingestion to the marts and back."""

import dagster as dg
import pytest

from dagster_project.definitions import defs
from tests.conftest import MARTS

INGESTION_PREFIXES = ("lake",)


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_definitions_validate():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("pfpw_nightly")
    assert defs.resolve_schedule_def("nightly_schedule").cron_schedule == "0 2 * * *"
    assert defs.resolve_schedule_def("nightly_schedule").execution_timezone == "Asia/Shanghai"
    assert defs.resolve_sensor_def("landing_zone_sensor")
    assert defs.resolve_sensor_def("dead_runs_sensor")  # issue 24: runs whose process died are failed


def _keys(graph, first):
    return {k for k in graph.get_all_asset_keys() if k.path[0] == first}


def test_every_extract_reaches_a_mart(graph):
    marts = _keys(graph, "marts")
    extracts = {
        k
        for k in _keys(graph, "lake")
        if k.path[1]
        not in (
            "ingest_ledger",
            "quarantine",
            "landing_zone_inventory",
            "landing_zone_state",
            "delivery_status",
        )
    }
    assert len(extracts) == 9 and {k.path[-1] for k in marts} == MARTS and len(MARTS) == 17
    for key in extracts:
        downstream = dg.AssetSelection.assets(key).downstream().resolve(graph)
        assert downstream & marts, f"{key.to_user_string()} reaches no mart"


def test_every_mart_goes_back_to_ingestion(graph):
    ingestion = _keys(graph, "lake") | _keys(graph, "reference")
    for key in _keys(graph, "marts"):
        upstream = dg.AssetSelection.assets(key).upstream().resolve(graph)
        assert upstream & ingestion, f"{key.to_user_string()} has no ingestion asset upstream"
        # and nothing upstream is an unexplained external source
        for up in upstream:
            assert graph.get(up).is_materializable, (
                f"{up.to_user_string()} (upstream of {key}) is not produced"
            )


def test_dbt_sources_are_the_ingestion_assets_not_separate_nodes(graph):
    # the base model is the only reader of its source; the staging model reads the base model
    deps = graph.get(dg.AssetKey(["staging", "base_township__births"])).parent_keys
    assert deps == {dg.AssetKey(["lake", "township_births"])}
    deps = graph.get(dg.AssetKey(["staging", "stg_township__births"])).parent_keys
    assert deps == {dg.AssetKey(["staging", "base_township__births"])}


def test_groups_by_layer_with_descriptions_and_dbt_tests_as_checks(graph):
    node = graph.get(dg.AssetKey(["marts", "fee_collection"]))
    assert node.group_name == "marts"
    assert "fee" in (node.description or "").lower()
    schema = node.metadata.get("dagster/column_schema")
    assert schema and any(c.name == "collection_rate" for c in schema.columns)
    checks = {
        k.name for k in graph.asset_check_keys if k.asset_key.path[0] in ("staging", "intermediate", "marts")
    }
    assert any("unique" in c for c in checks)
