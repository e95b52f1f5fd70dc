"""The dbt project as dbt Labs would review it: dbt-bouncer (dbt/dbt-bouncer.yml) passes on the project's manifest
and fails on a regression; every model and source table is documented and every model's grain tested."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dagster_project.defs.dbt.project import prepare_manifest
from dagster_project.settings import DBT_PROJECT_DIR

BOUNCER = str(Path(sys.executable).parent / "dbt-bouncer")
CONFIG = Path(DBT_PROJECT_DIR) / "dbt-bouncer.yml"


@pytest.fixture(scope="module")
def manifest_path() -> Path:
    """dbt/target/manifest.json, parsed again if the project changed since (as `make install` prepares it)."""
    return prepare_manifest()


def bouncer(config: Path, output: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    result = subprocess.run(
        [
            BOUNCER,
            "run",
            "--config-file",
            str(config),
            "--output-file",
            str(output),
            "--output-only-failures",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    failures = json.loads(output.read_text()) if output.exists() else []
    return result, failures


def test_dbt_bouncer_passes_on_the_project(manifest_path, tmp_path):
    result, failures = bouncer(CONFIG, tmp_path / "failures.json")
    assert result.returncode == 0, (failures, result.stdout[-3000:], result.stderr[-3000:])
    assert failures == []
    assert "All checks passed" in result.stdout


def test_dbt_bouncer_catches_an_undocumented_model_and_a_missing_unique_test(manifest_path, tmp_path):
    manifest = json.loads(manifest_path.read_text())
    undocumented, untested = "model.pfpw.int_fee_cases", "model.pfpw.stg_finance__fee_decisions"
    manifest["nodes"][undocumented]["description"] = ""
    unique = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and node.get("attached_node") == untested
        and node["test_metadata"]["name"] == "unique"
    ]
    assert len(unique) == 1
    del manifest["nodes"][unique[0]]
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text(json.dumps(manifest))
    # the project's own checks, on the copy
    config = yaml.safe_load(CONFIG.read_text())
    config["dbt_artifacts_dir"] = str(tmp_path / "target")
    config["custom_checks_dir"] = str(CONFIG.parent / config["custom_checks_dir"])
    (tmp_path / "dbt-bouncer.yml").write_text(yaml.safe_dump(config, allow_unicode=True))

    result, failures = bouncer(tmp_path / "dbt-bouncer.yml", tmp_path / "failures.json")

    assert result.returncode != 0
    failed = {(f["check_run_id"].split(":")[0], f["unique_id"]) for f in failures}
    assert failed == {
        ("check_model_description_populated", undocumented),
        ("check_model_documentation_coverage", None),
        ("check_model_has_unique_test", untested),
        ("check_model_has_primary_key_test", untested),
    }, failures
    messages = " ".join(f["failure_message"] for f in failures)
    assert "int_fee_cases" in messages and "stg_finance__fee_decisions" in messages


def _generic_tests(manifest: dict) -> dict[str, list[tuple[str, str | None, list[str] | None]]]:
    """(test name, column, columns) of the generic tests on each node."""
    tests: dict[str, list] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            kwargs = node["test_metadata"].get("kwargs") or {}
            tests.setdefault(node.get("attached_node"), []).append(
                (node["test_metadata"]["name"], kwargs.get("column_name"), kwargs.get("columns"))
            )
    return tests


def test_every_model_and_source_table_is_documented_and_every_model_has_a_primary_key_test(manifest_path):
    """The property itself, whatever dbt-bouncer's configuration says: a description on every model and source
    table; on every model `unique` + `not_null` on one column, or `unique_combination` + `not_null` on each of its
    columns."""
    manifest = json.loads(manifest_path.read_text())
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert len(models) > 40 and manifest["sources"]
    undocumented = sorted(n["name"] for n in models.values() if len(n["description"].strip()) < 4)
    undocumented += sorted(
        f"{s['source_name']}.{s['name']}"
        for s in manifest["sources"].values()
        if len(s["description"].strip()) < 4
    )
    assert undocumented == []

    tests = _generic_tests(manifest)
    without_key = []
    for uid, node in models.items():
        mine = tests.get(uid, [])
        not_null = {column for name, column, _ in mine if name == "not_null"}
        single = any(name == "unique" and column in not_null for name, column, _ in mine)
        combined = any(
            name == "unique_combination" and columns and set(columns) <= not_null for name, _, columns in mine
        )
        if not (single or combined):
            without_key.append(node["name"])
    assert without_key == []
