"""The dbt project as Dagster assets: every dbt source is the ingestion asset that wrote it.

The manifest is prepared before this module is imported (``make install`` and ``pfpw`` do it,
see ``project.py``); if it is still missing or stale here, it is parsed with this
environment's own ``dbt`` (an absolute path: no PATH needed), so the UI, the CLI and the tests
always load the same graph.
"""

import contextlib
import importlib.metadata
import json
import os
import shutil
import sys
import threading
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

from dagster_project import engines, lineage
from dagster_project.dagster_private import DbtCliResourceWithoutAdapter
from dagster_project.defs import executor
from dagster_project.defs.dbt.project import DBT_EXECUTABLE, dbt_project, prepare_manifest
from dagster_project.defs.ingestion.keys import (
    DELIVERY_KEY,
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    TARGETS_KEY,
    extract_key,
)
from dagster_project.defs.ingestion.state import REBUILD_TAG
from dagster_project.defs.resources import PfpwPaths
from dagster_project.failpoints import failpoint
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
                return TARGETS_KEY if table == "targets" else REFERENCE_KEYS[table]
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


class PfpwDbtCliResource(DbtCliResourceWithoutAdapter):
    """dagster-dbt's resource without two costs a night does not need (about 5 s per run: ``dbt
    --version`` in a subprocess, a dbt adapter in Dagster's own process; ``dagster_private.py`` says
    why these two overrides of private methods are there), whose ``cli`` takes the variables dbt's
    process is given (``env``: ``dbt_env``), and with the engine it builds on (``engines.py``: duckdb,
    or spark through the Spark environment's dbt).
    """

    engine: str = "duckdb"


CHANGED_MONTHS_VAR = "PFPW_CHANGED_MONTHS"


def dbt_env(paths: PfpwPaths, changed_months: dict[str, list[str]] | None = None) -> dict[str, str | None]:
    """The variables dbt's process is given (profiles.yml, the sources and the incremental models read
    them with ``env_var()``): the run's warehouse and DuckDB's memory limit, and on an incremental night
    the months each lake extract rewrote (``PFPW_CHANGED_MONTHS``; None: not given to dbt at all)."""
    given = paths.settings
    return {
        "PFPW_WAREHOUSE_DIR": str(given.warehouse_dir),
        "PFPW_DUCKDB_MEMORY_LIMIT": given.duckdb_memory_limit,
        CHANGED_MONTHS_VAR: None if changed_months is None else json.dumps(changed_months, sort_keys=True),
    }


def build_invocation(context: dg.AssetExecutionContext, paths: PfpwPaths) -> tuple[list[str], dict]:
    """``dbt build``'s arguments and its process's variables (``dbt_env``), with what its incremental
    models need (dbt/macros/incremental.sql).

    An incremental night (the run's rebuild tag) gives dbt the months each lake extract rewrote in
    this run (``PFPW_CHANGED_MONTHS``); every other run rebuilds the incremental models from scratch
    (``--full-refresh``), so a change of code, key or reference data never leaves an old slice
    behind. Not a dbt var: a var that differs from the last invocation's makes dbt parse the whole
    project again (about 7 s on 2 cores), while a changed environment variable re-parses only the
    models that read it.

    dbt's unit tests run in every full build, and not on an incremental night: their inputs are
    fixed in the project, and an incremental night runs the code of the last publication, whose
    full build passed them (an incremental night requires the same code digest, see
    ``state.changes_since_publication``). dbt's own advice: unit tests in development and CI.
    """
    lake = paths.lake
    if context.run.tags.get(REBUILD_TAG) is None:
        lake.forget_changes()
        return ["build", "--full-refresh"], dbt_env(paths)
    changes = lake.changes(context.run.run_id)
    lake.forget_changes(keep=context.run.run_id)
    context.log.info(f"incremental models rebuild the months: {json.dumps(changes)}")
    return ["build", "--exclude-resource-type", "unit_test"], dbt_env(paths, changes)


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
    with paths.writer_lock():
        paths.prepared_lake()  # every source file exists (empty extracts included)
        record_writer(paths.warehouse, context.run.run_id)
        target = paths.warehouse / "dbt_target"
        if dbt.engine == "spark":
            engines.require_spark()
        args, env = build_invocation(context, paths)
        invocation = dbt.cli(args, env=env, context=context, target_path=target)
        warm_up = _import_audits_meanwhile(context)
        # The events are held until dbt has finished: the column lineage attached to each model's
        # materialization is read from the database dbt holds while it runs (lineage.py).
        events, failure = [], None
        try:
            for i, event in enumerate(invocation.stream()):
                if i == 5:
                    failpoint("dbt")
                events.append(event)
        except Exception as error:  # noqa: BLE001 (re-raised below, once the built models are reported)
            failure = error
        if failure is None:
            lost = lost_events(events, target)
            if lost:  # never a green run that built less than dbt says it did
                failure = dg.Failure(
                    f"dbt built {len(lost)} model(s) whose events never reached Dagster "
                    f"(a line of dbt's JSON log could not be read): {', '.join(lost[:5])}"
                )
        catalog = None
        if dbt.engine == "spark" and failure is None:
            # the tables Spark wrote (Parquet) into the working database, for the audits and the publication
            manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
            loaded = engines.load_spark_tables(manifest, paths.warehouse)
            context.log.info(f"spark: {len(loaded)} tables loaded into the working database")
            catalog = spark_catalog(dbt, target, env)
        if warm_up is not None:
            warm_up.join()
        yield from with_column_lineage(
            context, events, target, paths.warehouse / "warehouse.duckdb", catalog=catalog
        )
        if failure is not None:
            raise failure
        write_dbt_docs(
            dbt,
            paths.warehouse / "docs" / "dbt",
            env,
            generated=target / "static_index.html" if catalog else None,
        )


def _import_audits_meanwhile(context: dg.AssetExecutionContext) -> threading.Thread | None:
    """Import Great Expectations (about 8 s on 2 cores) in a thread while dbt works in its own process.

    Only when the steps share this process (the in-process executor, `pfpw run`'s default): the
    audits that follow then find GX loaded. A step of the multiprocess executor has its own process,
    where the import would only compete with dbt for the cores. Joined before the step ends.
    """
    if executor.executor_mode(context.run.run_config) != "in_process" or "great_expectations" in sys.modules:
        return None

    def load() -> None:
        # a failure is the audits' to report: they import it again
        with contextlib.suppress(Exception):
            importlib.import_module("dagster_project.checks.gx_runner")

    thread = threading.Thread(target=load, name="pfpw-import-gx", daemon=True)
    thread.start()
    return thread


def lost_events(events: list, target: Path) -> list[str]:
    """Models dbt's run_results.json says it built, without their event among ``events``."""
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    reported = {_unique_id(e) for e in events}
    return sorted(
        r["unique_id"].split(".")[-1]
        for r in results
        if r["unique_id"].startswith("model.")
        and r.get("status") == "success"
        and r["unique_id"] not in reported
    )


def spark_catalog(dbt: PfpwDbtCliResource, target: Path, env: dict) -> dict | None:
    """dbt's catalog of the Spark build (every relation's columns, views included): the lineage's columns."""
    try:
        # --static: the same invocation writes the dbt docs page (write_dbt_docs), one JVM instead of two
        (target / "static_index.html").unlink(missing_ok=True)
        dbt.cli(["docs", "generate", "--static"], env=env, target_path=target, raise_on_error=True).wait()
        return json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 (lineage is documentation: the build stands)
        return None


def with_column_lineage(
    context: dg.AssetExecutionContext, events: list, target: Path, database: Path, catalog: dict | None = None
) -> list:
    """The models' events with ``dagster/column_lineage`` and ``dagster/column_schema`` added; and
    ``audit.column_lineage`` written for the whole project (published with the marts)."""
    manifest_path = target / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        shared = Path(dbt_project.project_dir) / dbt_project.target_path / lineage.CACHE_NAME
        nodes, by_model = lineage.project_lineage(manifest, target, database, catalog, shared=shared)
        lineage.write_table(database, lineage.rows(nodes, by_model))
    except Exception as error:  # noqa: BLE001 (documentation: a failure is reported, the build stands)
        context.log.warning(f"column lineage not recorded: {type(error).__name__}: {error}")
        lineage.write_table(database, [])  # the publication copies the table: present, and empty
        return events
    keys = {
        uid: translator.get_asset_key(manifest["nodes"].get(uid) or manifest["sources"][uid]) for uid in nodes
    }
    out = []
    for event in events:
        uid = _unique_id(event)
        if uid in by_model and isinstance(event, dg.Output | dg.AssetMaterialization):
            node, deps = nodes[uid], by_model[uid]
            described = manifest["nodes"][uid].get("columns", {})
            metadata = {
                **event.metadata,
                # the keys of dagster's TableMetadataSet (dagster-dbt's fetch_column_metadata writes the same)
                "dagster/column_schema": dg.TableSchema(
                    columns=[
                        dg.TableColumn(name, dtype, description=described.get(name, {}).get("description"))
                        for name, dtype in node.columns.items()
                    ]
                ),
                "dagster/column_lineage": dg.TableColumnLineage(
                    deps_by_column={
                        column: [dg.TableColumnDep(asset_key=keys[p], column_name=c) for p, c in deps[column]]
                        for column in node.columns
                        if column in deps
                    }
                ),
            }
            event = event.with_metadata(metadata)  # noqa: PLW2901
        out.append(event)
    return out


def _unique_id(event) -> str | None:  # noqa: ANN001 (any dagster-dbt event)
    value = getattr(event, "metadata", {}).get("unique_id")
    return getattr(value, "text", value)


def write_dbt_docs(dbt: PfpwDbtCliResource, out: Path, env: dict, generated: Path | None = None) -> None:
    """`dbt docs generate --static`: one self-contained page beside the GX Data Docs.

    The page describes the models and their columns, which change only with the code: it is
    generated again only when the code or the dbt project changed since it was written.
    ``generated``: a page this run already generated (on Spark, with the catalog), used as it is.
    """
    digest = code_digest()
    stamp = out / ".code_digest"
    if (out / "index.html").exists() and stamp.exists() and stamp.read_text() == digest:
        return
    # one page per version of the code, shared by every warehouse built with it
    cached = Path(dbt_project.project_dir) / dbt_project.target_path / "static_docs" / f"{digest[:32]}.html"
    if not cached.exists() and generated is not None and generated.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(generated, cached.with_suffix(".tmp"))
        os.replace(cached.with_suffix(".tmp"), cached)
    if not cached.exists():
        target = Path(dbt_project.project_dir) / dbt_project.target_path / f"docs-{os.getpid()}"
        dbt.cli(["docs", "generate", "--static"], env=env, target_path=target, raise_on_error=True).wait()
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target / "static_index.html", cached.with_suffix(".tmp"))
        os.replace(cached.with_suffix(".tmp"), cached)
        shutil.rmtree(target, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".index.html.tmp"
    shutil.copyfile(cached, tmp)
    os.replace(tmp, out / "index.html")
    stamp.write_text(digest)


def engine_dbt_resource(engine: str | None = None) -> PfpwDbtCliResource:
    """The dbt resource of ``PFPW_ENGINE``: this environment's dbt-duckdb, or the Spark environment's dbt
    with the profile's ``spark`` target (its process, never this one, imports pyspark)."""
    engine = engine or engines.engine()
    if engine == "spark":
        engines.require_spark()
        return PfpwDbtCliResource(
            project_dir=dbt_project,
            dbt_executable=str(engines.SPARK_DBT_EXECUTABLE),
            target="spark",
            engine="spark",
        )
    return PfpwDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


dbt_resource = engine_dbt_resource()
