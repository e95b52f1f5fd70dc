"""Ingestion assets: the landing zone's extracts, validated and pseudonymised into the lake.

One graph-backed multi-asset per agency (a township workbook feeds three extracts in
one read), fanned out into one step per district (or district and month) that Dagster's
executor runs in-process or side by side; the reference tables; the landing-zone
inventory of unknown files. The ledger, the quarantine and the deliveries' status, and the checks
of the ledger against the Parquet written, are ``ledger.py``'s.
"""

import dagster as dg
import duckdb
import polars as pl

from dagster_project import progress
from dagster_project.defs import executor
from dagster_project.defs.ingestion.keys import INVENTORY_KEY, REFERENCE_KEYS, STATE_KEY, extract_key
from dagster_project.defs.ingestion.state import INGESTION_GROUP
from dagster_project.defs.resources import PfpwPaths
from dagster_project.ingest.run import (
    Ingestor,
    MonthReport,
    Unit,
    agency_months,
    fanout_for,
    forget_listings,
    ingest_unit,
    plan_units,
    run_listings,
    specs_of,
    write_inventory,
    write_reference,
)
from dagster_project.reference import load_reference
from dagster_project.schemas.contract import AGENCIES, REFERENCE_TABLES

REFERENCE_GROUP = "reference"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            REFERENCE_KEYS[name],
            group_name=REFERENCE_GROUP,
            description=f"reference/{name}.csv: the data team's master data, copied to the lake as Parquet.",
            kinds={"parquet"},
            deps=[STATE_KEY],
            metadata={
                "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(c, "VARCHAR") for c in cols])
            },
        )
        for name, cols in REFERENCE_TABLES.items()
    ],
    can_subset=False,
    op_tags={"pfpw/stage": "reference"},
)
def reference_tables(context: dg.AssetExecutionContext, paths: PfpwPaths):
    ref = load_reference(paths.sources)
    with paths.writer_lock():
        write_reference(paths.prepared_lake(), ref)
    for name, df in ref.tables.items():
        yield dg.MaterializeResult(
            asset_key=REFERENCE_KEYS[name],
            metadata={
                "dagster/row_count": df.height,
                "fingerprint": ref.fingerprint,
                "preview": dg.MetadataValue.md(md_table(df.head(5))),
            },
        )


@dg.asset(
    key=INVENTORY_KEY,
    group_name=INGESTION_GROUP,
    description="The landing zone's month folders (which years are complete), and the files the contract does not "
    "name (listed in the ledger as ignored).",
    kinds={"parquet"},
    deps=[STATE_KEY],
    op_tags={"pfpw/stage": "inventory"},
)
def landing_zone_inventory(context: dg.AssetExecutionContext, paths: PfpwPaths) -> dg.MaterializeResult:
    with paths.writer_lock():
        df, months = write_inventory(paths.sources, paths.prepared_lake(), context.run.run_id)
    for row in df.iter_rows(named=True):
        context.log.warning(f"ignored {row['source_file']}: {row['reason']}")
    return dg.MaterializeResult(
        metadata={
            "ignored_files": df.height,
            "month_folders": months.height,
            "files": dg.MetadataValue.json(df["source_file"].to_list()),
        }
    )


def build_agency_asset(agency: str) -> dg.AssetsDefinition:
    """An agency's extracts as one graph: plan the work units, ingest them side by side, account.

    ``<agency>_plan`` brings the lake's month folders in line with withdrawals and fans out one
    ``<agency>_files[<unit>]`` step per district (or district and month: ``PFPW_INGEST_FANOUT``,
    see ``ingest/run.py:plan_units``); ``<agency>_commit`` adds up their reports and materializes
    the extracts. The units write disjoint lake files, so Dagster's executor decides how many run
    at once: one after another in-process, in parallel processes with the multiprocess executor,
    in pods with dagster-k8s (README, "Scaling out").
    """
    specs = specs_of(agency)
    deps = {"state": STATE_KEY, **{f"reference_{k}": key for k, key in REFERENCE_KEYS.items()}}

    @dg.op(
        name=f"{agency}_plan",
        ins={name: dg.In(dg.Nothing) for name in deps},
        out={"units": dg.DynamicOut(Unit), "withdrawn": dg.Out(MonthReport)},
        tags={"pfpw/stage": "ingest"},
    )
    def plan(context: dg.OpExecutionContext, paths: PfpwPaths):
        ref = load_reference(paths.sources)
        withdrawn = MonthReport()
        given = paths.settings
        with paths.writer_lock():
            lake = paths.prepared_lake()
            # a month folder withdrawn from the landing zone is still in the lake: its files leave it
            ingestor = Ingestor(
                given.sources_dir,
                lake,
                ref,
                given.key(),
                run_id=context.run.run_id,
                listings=run_listings(context.run.run_id),
            )
            ingestor.withdraw(specs, agency_months(given.sources_dir, lake, agency), withdrawn)
        fanout = fanout_for(given.ingest_fanout, executor.executor_mode(context.run.run_config or {}))
        units = plan_units(given.sources_dir, agency, ref, fanout) or [Unit(agency, "none", ())]
        context.log.info(f"{agency}: {len(units)} work unit(s): {', '.join(u.key for u in units[:20])}")
        yield dg.Output(withdrawn, "withdrawn")
        for unit in units:
            yield dg.DynamicOutput(unit, output_name="units", mapping_key=unit.key)

    @dg.op(name=f"{agency}_files", tags={"pfpw/stage": "ingest"})
    def files(context: dg.OpExecutionContext, paths: PfpwPaths, unit: Unit) -> MonthReport:
        ref = load_reference(paths.sources)
        with paths.writer_lock():
            counter = progress.Counter(f"ingest {agency}", 0)
            ingestor = Ingestor(
                paths.sources,
                paths.lake,
                ref,
                paths.settings.key(),
                run_id=context.run.run_id,
                on_file=counter.step,
                on_total=counter.set_total,  # the unit's files, once the ingestor has listed them
                workers=_pool_workers(context, paths),
                listings=run_listings(context.run.run_id),  # the month folders listed once per run
            )
            report = ingest_unit(ingestor, unit)
        for rel, reason in report.rejected:
            context.log.error(f"rejected {rel}: {reason}")
        context.log.info(
            f"{agency} {unit.key}: {report.files_seen} files ({report.files_ingested} ingested, "
            f"{report.files_unchanged} unchanged), {report.rows_read} rows read, {report.rows_loaded} loaded, "
            f"{report.rows_quarantined} quarantined"
        )
        return report

    @dg.op(
        name=f"{agency}_commit",
        out={s.name: dg.Out(dg.Nothing) for s in specs},
        tags={"pfpw/stage": "ingest"},
    )
    def commit(
        context: dg.OpExecutionContext, paths: PfpwPaths, withdrawn: MonthReport, reports: list[MonthReport]
    ):
        forget_listings(context.run.run_id, agency)
        total = MonthReport()
        for r in [withdrawn, *reports]:
            total.add(r)
        months = agency_months(paths.sources, paths.lake, agency)
        context.log.info(
            f"{agency}: {total.files_seen} files ({total.files_ingested} ingested, {total.files_unchanged} unchanged,"
            f" {total.files_removed} withdrawn, {total.files_rekeyed} re-keyed), {total.rows_read} rows read, {total.rows_loaded} loaded,"
            f" {total.rows_quarantined} quarantined"
        )
        for s in specs:
            counts = total.per_extract.get(s.name, {"read": 0, "loaded": 0, "quarantined": 0})
            yield dg.Output(
                None,
                output_name=s.name,
                metadata={
                    "months": len(months),
                    "work_units": len(reports),
                    "files_seen": total.files_seen,
                    "files_ingested": total.files_ingested,
                    "files_unchanged": total.files_unchanged,
                    "files_withdrawn": total.files_removed,
                    "files_rekeyed": total.files_rekeyed,
                    "rows_read": counts["read"],
                    "rows_loaded": counts["loaded"],
                    "rows_quarantined": counts["quarantined"],
                    "rejected_files": dg.MetadataValue.json([f"{f}: {r}" for f, r in total.rejected]),
                    "preview": dg.MetadataValue.md(_preview(paths, s.name)),
                },
            )

    @dg.graph_multi_asset(
        name=f"ingest_{agency}",
        group_name=INGESTION_GROUP,
        ins={name: dg.AssetIn(key=key, dagster_type=dg.Nothing) for name, key in deps.items()},
        outs={
            s.name: dg.AssetOut(
                key=extract_key(s.name),
                dagster_type=dg.Nothing,
                description=s.description
                + " Valid rows, pseudonymised; see the ledger and quarantine for the rest.",
                kinds={"parquet", "polars"},
                # the stage of the graph's steps (console.py; an asset tag holds no space)
                tags={"pfpw/stage": f"ingest.{agency}"},
                metadata={
                    "agency": agency,
                    "dagster/column_schema": dg.TableSchema(
                        columns=[dg.TableColumn(f.name, f.kind, description=f.source) for f in s.fields]
                    ),
                },
            )
            for s in specs
        },
        can_subset=False,
    )
    def _ingest(**upstream):
        units, withdrawn = plan(**upstream)
        return commit(withdrawn, units.map(files).collect())

    return _ingest


def _pool_workers(context: dg.OpExecutionContext, paths: PfpwPaths) -> int:
    """Processes a unit may read files with: the run's workers (PFPW_WORKERS, `pfpw run --workers`)
    in-process; one when the executor already runs units in parallel processes (no pools inside a pool)."""
    if executor.executor_mode(context.run.run_config or {}) == "multiprocess":
        return 1
    return paths.settings.workers


def _preview(paths: PfpwPaths, extract: str) -> str:
    glob = paths.lake.glob("lake", extract)
    df = duckdb.sql(
        f"select * exclude (source_file) from read_parquet('{glob}', union_by_name=true, "
        "hive_partitioning=false) limit 5"
    ).pl()
    return md_table(df)


def md_table(df: pl.DataFrame) -> str:
    """A small Markdown table for the UI (values shortened; person keys are already pseudonyms)."""
    if not df.height:
        return "(no rows)"
    cell = lambda v: ("" if v is None else str(v)).replace("|", "/")[:24]  # noqa: E731
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * df.width]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join(lines)


AGENCY_ASSETS = [build_agency_asset(a) for a in AGENCIES]
