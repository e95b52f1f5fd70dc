"""The dbt project as Dagster assets: every dbt source is the ingestion asset that wrote it.

The manifest is prepared before this module is imported (``make install`` and ``pfpw`` do it,
see ``dbt_project.py``); if it is still missing or stale here, it is parsed with this
environment's own ``dbt`` (an absolute path: no PATH needed), so the UI, the CLI and the tests
always load the same graph.
"""

import importlib.metadata
import os
import shutil
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from dagster_project.assets.keys import (
    DELIVERY_KEY,
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    extract_key,
)
from dagster_project.dbt_project import DBT_EXECUTABLE, dbt_project, prepare_manifest
from dagster_project.failpoints import failpoint
from dagster_project.resources import PfpwPaths
from dagster_project.state import code_digest, record_writer

LAKE_SOURCES = {
    "ingest_ledger": LEDGER_KEY,
    "quarantine": QUARANTINE_KEY,
    "landing_months": INVENTORY_KEY,
    "delivery_status": DELIVERY_KEY,
}
LAYERS = ("staging", "intermediate", "marts", "audit")

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
    """`dbt build` of staging, intermediates, marts and audit models into the working database.

    The run's selection decides the models (dagster-dbt passes it to dbt): all of them, or on an
    incremental night those downstream of what changed. The target folder is the warehouse's own
    (``<warehouse>/dbt_target``), kept between runs, so dbt parses only what changed since.
    """
    os.environ["PFPW_WAREHOUSE_DIR"] = str(paths.warehouse)  # profiles.yml and the sources read it
    with paths.writer_lock():
        paths.prepared_lake()  # every source file exists (empty extracts included)
        record_writer(paths.warehouse, context.run.run_id)
        invocation = dbt.cli(["build"], context=context, target_path=paths.warehouse / "dbt_target")
        for i, event in enumerate(invocation.stream()):
            if i == 5:
                failpoint("dbt")
            yield event
        write_dbt_docs(dbt, paths.warehouse / "docs" / "dbt")


def write_dbt_docs(dbt: DbtCliResource, out: Path) -> None:
    """`dbt docs generate --static`: one self-contained page beside the GX Data Docs.

    The page describes the models and their columns, which change only with the code: it is
    generated again only when the code or the dbt project changed since it was written.
    """
    digest = code_digest()
    stamp = out / ".code_digest"
    if (out / "index.html").exists() and stamp.exists() and stamp.read_text() == digest:
        return
    # one page per version of the code, shared by every warehouse built with it
    cached = Path(dbt_project.project_dir) / dbt_project.target_path / "static_docs" / f"{digest[:32]}.html"
    if not cached.exists():
        target = Path(dbt_project.project_dir) / dbt_project.target_path / f"docs-{os.getpid()}"
        dbt.cli(["docs", "generate", "--static"], target_path=target, raise_on_error=True).wait()
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target / "static_index.html", cached.with_suffix(".tmp"))
        os.replace(cached.with_suffix(".tmp"), cached)
        shutil.rmtree(target, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".index.html.tmp"
    shutil.copyfile(cached, tmp)
    os.replace(tmp, out / "index.html")
    stamp.write_text(digest)


class PfpwDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two costs a night does not need (about 5 s per run).

    - ``dbt --version`` in a subprocess, to learn the version: the executable is the one of this
      environment (``DBT_EXECUTABLE``), so it is the installed dbt-core's;
    - a dbt adapter opened in Dagster's own process, used only to fetch row counts and column
      metadata, which this project does not ask for.
    """

    @cached_property
    def _cli_version(self):
        from packaging import version

        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 (dagster-dbt's signature)
        return None


dbt_resource = PfpwDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
