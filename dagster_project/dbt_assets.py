"""The dbt project as Dagster assets: every dbt source is the ingestion asset that wrote it.

The manifest is prepared here (``dbt parse``) whenever it is missing or older than the
dbt project's files, not only under ``dagster dev``, so the CLI, the tests and the UI
all load the same graph.
"""

import fcntl
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from dagster_project.assets.ingestion import (
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    extract_key,
)
from dagster_project.failpoints import failpoint
from dagster_project.resources import PfpwPaths
from dagster_project.settings import DBT_PROJECT_DIR

# the dbt of this environment, whether or not its bin/ is on PATH
DBT_EXECUTABLE = (
    str(Path(sys.executable).parent / "dbt")
    if (Path(sys.executable).parent / "dbt").exists()
    else shutil.which("dbt") or "dbt"
)
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

LAKE_SOURCES = {"ingest_ledger": LEDGER_KEY, "quarantine": QUARANTINE_KEY, "landing_months": INVENTORY_KEY}
LAYERS = ("staging", "intermediate", "marts", "audit")


def _project_files(root: Path) -> list[Path]:
    files = [root / "dbt_project.yml", root / "profiles.yml"]
    for sub in ("models", "macros", "tests"):
        files += [p for p in (root / sub).rglob("*") if p.is_file()]
    return files


def prepare_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the dbt project if its manifest is missing or stale (one process at a time)."""
    manifest = project.manifest_path
    newest = max(p.stat().st_mtime for p in _project_files(Path(project.project_dir)))
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < newest:
            DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
                ["--quiet", "parse"], target_path=project.target_path
            ).wait()
    return manifest


dbt_project.prepare_if_dev()
prepare_manifest()


class PfpwTranslator(DagsterDbtTranslator):
    """Sources are the ingestion assets; models are keyed and grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source, table = dbt_resource_props["source_name"], dbt_resource_props["name"]
            if source == "reference":
                return REFERENCE_KEYS[table]
            if source == "lake":
                return LAKE_SOURCES[table]
            return extract_key(f"{source}_{table}")
        return dg.AssetKey([self._layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return self._layer(dbt_resource_props)

    @staticmethod
    def _layer(props: Mapping[str, Any]) -> str:
        fqn = props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else "dbt"


translator = PfpwTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    project=dbt_project,
    name="dbt_models",
    op_tags={"pfpw/stage": "transform"},
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, paths: PfpwPaths):
    """`dbt build` of staging, intermediates, marts and audit models into the working database."""
    os.environ["PFPW_WAREHOUSE_DIR"] = str(paths.warehouse)  # profiles.yml and the sources read it
    with paths.writer_lock():
        paths.prepared_lake()  # every source file exists (empty extracts included)
        for i, event in enumerate(dbt.cli(["build"], context=context).stream()):
            if i == 5:
                failpoint("dbt")
            yield event
        write_dbt_docs(dbt, paths.warehouse / "docs" / "dbt")


def write_dbt_docs(dbt: DbtCliResource, out: Path) -> None:
    """`dbt docs generate --static`: one self-contained page beside the GX Data Docs."""
    target = Path(dbt_project.project_dir) / dbt_project.target_path / f"docs-{os.getpid()}"
    dbt.cli(["docs", "generate", "--static"], target_path=target, raise_on_error=True).wait()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".index.html.tmp"
    shutil.copyfile(target / "static_index.html", tmp)
    os.replace(tmp, out / "index.html")
    shutil.rmtree(target, ignore_errors=True)


dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
