"""The dbt project as Dagster assets: every dbt source is the ingestion asset that wrote it.

The manifest is prepared before this module is imported (``make install`` and ``pfpw`` do it,
see ``dbt_project.py``); if it is still missing or stale here, it is parsed with this
environment's own ``dbt`` (an absolute path: no PATH needed), so the UI, the CLI and the tests
always load the same graph.
"""

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from dagster_project.assets.ingestion import (
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    extract_key,
)
from dagster_project.dbt_project import DBT_EXECUTABLE, dbt_project, prepare_manifest
from dagster_project.failpoints import failpoint
from dagster_project.resources import PfpwPaths
from dagster_project.state import code_digest

LAKE_SOURCES = {"ingest_ledger": LEDGER_KEY, "quarantine": QUARANTINE_KEY, "landing_months": INVENTORY_KEY}
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
    """`dbt build` of staging, intermediates, marts and audit models into the working database."""
    os.environ["PFPW_WAREHOUSE_DIR"] = str(paths.warehouse)  # profiles.yml and the sources read it
    with paths.writer_lock():
        paths.prepared_lake()  # every source file exists (empty extracts included)
        invocation = dbt.cli(["build"], context=context)
        try:
            for i, event in enumerate(invocation.stream()):
                if i == 5:
                    failpoint("dbt")
                yield event
        finally:
            # dagster-dbt gives every invocation its own target folder: nightly runs would pile them up
            shutil.rmtree(invocation.target_path, ignore_errors=True)
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


dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
