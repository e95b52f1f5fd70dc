"""Ingestion assets: the landing zone's extracts, validated and pseudonymised into the lake.

One graph-backed multi-asset per agency (a township workbook feeds three extracts in
one read), fanned out into one step per district (or district and month) that Dagster's
executor runs in-process or side by side; the reference tables; the landing-zone
inventory of unknown files. Each extract has a blocking check that its ledger balances against the
Parquet actually written.
"""

import dagster as dg
import duckdb
import polars as pl

from dagster_project import progress, settings
from dagster_project.defs import executor
from dagster_project.defs.ingestion.keys import (
    DELIVERY_KEY,
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    STATE_KEY,
    extract_key,
)
from dagster_project.defs.ingestion.state import INGESTION_GROUP, REBUILD_TAG
from dagster_project.defs.resources import PfpwPaths
from dagster_project.ingest.run import (
    Ingestor,
    MonthReport,
    Unit,
    agency_months,
    ingest_unit,
    plan_units,
    specs_of,
    write_inventory,
    write_reference,
)
from dagster_project.reference import load_reference
from dagster_project.schemas.contract import AGENCIES, EXTRACTS, REFERENCE_TABLES

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
        with paths.writer_lock():
            lake = paths.prepared_lake()
            # a month folder withdrawn from the landing zone is still in the lake: its files leave it
            ingestor = Ingestor(paths.sources, lake, ref, settings.pii_key(), run_id=context.run.run_id)
            ingestor.withdraw(specs, agency_months(paths.sources, lake, agency), withdrawn)
        units = plan_units(paths.sources, agency, ref, settings.ingest_fanout()) or [Unit(agency, "none", ())]
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
                settings.pii_key(),
                run_id=context.run.run_id,
                on_file=counter.step,
                on_total=counter.set_total,  # the unit's files, once the ingestor has listed them
                workers=_pool_workers(context),
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


def _pool_workers(context: dg.OpExecutionContext) -> int:
    """Processes a unit may read files with: PFPW_WORKERS in-process; one when the executor already
    runs units in parallel processes (no pools inside a pool)."""
    return 1 if executor.executor_mode(context.run.run_config or {}) == "multiprocess" else settings.workers()


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


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            LEDGER_KEY,
            group_name=INGESTION_GROUP,
            kinds={"parquet"},
            deps=[*(extract_key(s.name) for s in EXTRACTS), INVENTORY_KEY],
            description="The ingest ledger: every delivered file per extract (hash, size, rows read, "
            "loaded, quarantined, status, reason, run) and the ignored files, in one Parquet file.",
        ),
        dg.AssetSpec(
            QUARANTINE_KEY,
            group_name=INGESTION_GROUP,
            kinds={"parquet"},
            deps=[extract_key(s.name) for s in EXTRACTS],
            description="Every quarantined row with its file, row number and reasons (no identity "
            "number, no name), in one Parquet file.",
        ),
        dg.AssetSpec(
            DELIVERY_KEY,
            group_name=INGESTION_GROUP,
            kinds={"parquet"},
            deps=[INVENTORY_KEY, *REFERENCE_KEYS.values(), *(extract_key(s.name) for s in EXTRACTS)],
            description="Every reporting unit's month (townships and hospitals of the reference data, the "
            "court, finance): its due date and whether it was delivered on time, late, rejected, or is "
            "missing and overdue (dagster_project/deliveries.py).",
        ),
    ],
    can_subset=False,
    op_tags={"pfpw/stage": "ledger"},
)
def ingest_audit(context: dg.AssetExecutionContext, paths: PfpwPaths):
    with paths.writer_lock():
        lake = paths.prepared_lake()
        ledger, quarantine = lake.consolidate()
        deliveries = write_delivery_status(lake, ledger)
    data = ledger.filter(pl.col("status") != "ignored")
    rejected = data.filter(pl.col("status") == "rejected").unique(["source_file", "reason"])
    yield dg.MaterializeResult(
        asset_key=LEDGER_KEY,
        metadata={
            "dagster/row_count": ledger.height,
            "files": data["source_file"].n_unique(),
            "rows_read": int(data["rows_read"].sum() or 0),
            "rows_loaded": int(data["rows_loaded"].sum() or 0),
            "rows_quarantined": int(data["rows_quarantined"].sum() or 0),
            "rejected_files": dg.MetadataValue.json(
                [f"{r['source_file']}: {r['reason']}" for r in rejected.iter_rows(named=True)]
            ),
            "ignored_files": ledger.filter(pl.col("status") == "ignored").height,
        },
    )
    by_reason = (
        quarantine.explode("reasons").group_by("extract", "reasons").len().sort("len", descending=True)
        if quarantine.height
        else quarantine
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata={
            "dagster/row_count": quarantine.height,
            "top_reasons": dg.MetadataValue.md(md_table(by_reason.head(15))),
        },
    )
    counts = deliveries.group_by("status").len()
    yield dg.MaterializeResult(
        asset_key=DELIVERY_KEY,
        metadata={
            "dagster/row_count": deliveries.height,
            **{f"unit_months_{r['status']}": r["len"] for r in counts.iter_rows(named=True)},
        },
    )


def write_delivery_status(lake, ledger: pl.DataFrame) -> pl.DataFrame:
    """audit.delivery_status's rows, from the lake's reference copy, month folders and ledger."""
    from dagster_project.deliveries import delivery_status
    from dagster_project.lake import write_parquet_atomic

    reference = {name: pl.read_parquet(lake.reference_path(name)) for name in REFERENCE_KEYS}
    months = pl.read_parquet(lake.landing_months_path)["reporting_month"].unique().to_list()
    status = delivery_status(ledger, reference, months)
    write_parquet_atomic(status, lake.delivery_status_path)
    return status


def overdue_by_agency(deliveries: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per agency, the unit-months overdue or rejected (not delivered, due date passed)."""
    bad = deliveries.filter(pl.col("overdue") | (pl.col("status") == "rejected"))
    return {a: bad.filter(pl.col("agency") == a) for a in AGENCIES}


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            f"{agency}_deliveries",
            asset=DELIVERY_KEY,
            blocking=False,
            description=f"Warning: every {agency} reporting unit delivered each expected month by its due date "
            "(a rejected file counts as not delivered); names the units overdue.",
        )
        for agency in AGENCIES
    ],
    name="deliveries_due",
    can_subset=True,
    op_tags={"pfpw/stage": "ledger"},
)
def deliveries_due(context: dg.AssetCheckExecutionContext, paths: PfpwPaths):
    """One warning per agency naming its units with months overdue or rejected."""
    deliveries = pl.read_parquet(paths.lake.delivery_status_path)
    selected = {k.name for k in context.selected_asset_check_keys}
    for agency, bad in overdue_by_agency(deliveries).items():
        if f"{agency}_deliveries" not in selected:
            continue
        units = (
            bad.group_by("unit_code", "unit_name")
            .agg(months=pl.col("reporting_month").sort())
            .sort("unit_code")
        )
        named = [
            f"{r['unit_code']} {r['unit_name']}: {', '.join(r['months'][:6])}"
            + (f" (+{len(r['months']) - 6} more)" if len(r["months"]) > 6 else "")
            for r in units.iter_rows(named=True)
        ]
        yield dg.AssetCheckResult(
            asset_key=DELIVERY_KEY,
            check_name=f"{agency}_deliveries",
            passed=bad.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{units.height} unit(s) overdue: " + "; ".join(named[:5]) if bad.height else None,
            metadata={
                "unit_months_overdue": int(bad.filter(pl.col("status") != "rejected").height),
                "unit_months_rejected": int(bad.filter(pl.col("status") == "rejected").height),
                "units": dg.MetadataValue.json(named),
            },
        )


# -------------------------------------------------------------------- the ledger balances


def ledger_balance_problems(paths: PfpwPaths, extract: str, months: list[str] | None = None) -> list[str]:
    """Every (file, extract) where rows read ≠ loaded + quarantined, or the Parquet written disagrees.

    ``months``: only the segments of those reporting months (those an incremental night rewrote; the
    others were checked by the run that wrote them); None: every month."""
    lake = paths.lake
    con = duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit()})
    opts = "union_by_name=true, hive_partitioning=false"

    def files(area: str) -> str:
        if months is None:
            return f"'{lake.glob(area, extract)}'"
        folder = lake.root / area / extract
        found = [folder / "_empty.parquet"]  # the area's schema, so that a list is never empty
        found += [p for m in sorted(months) for p in sorted((folder / f"month={m}").glob("*.parquet"))]
        return "[" + ", ".join(f"'{p}'" for p in found) + "]"

    sql = f"""
        with ledger as (select * from read_parquet({files("ledger")}, {opts})),
        loaded as (select source_file, count(*) n from read_parquet({files("lake")}, {opts}) group by 1),
        quarantined as (select source_file, count(*) n
                        from read_parquet({files("quarantine")}, {opts}) group by 1)
        select l.source_file, l.rows_read, l.rows_loaded, l.rows_quarantined,
               coalesce(a.n, 0) as parquet_loaded, coalesce(q.n, 0) as parquet_quarantined
        from ledger l
        left join loaded a using (source_file)
        left join quarantined q using (source_file)
        where l.rows_read <> l.rows_loaded + l.rows_quarantined
           or l.rows_loaded <> coalesce(a.n, 0) or l.rows_quarantined <> coalesce(q.n, 0)
        union all
        select a.source_file, null, null, null, a.n, null from loaded a
        where a.source_file not in (select source_file from ledger)
    """
    rows = con.sql(sql).fetchall()
    return [
        f"{r[0]}: read {r[1]}, ledger loaded {r[2]} / quarantined {r[3]}, "
        f"Parquet holds {r[4]} loaded / {r[5]} quarantined"
        for r in rows
    ]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "ledger_balances",
            asset=extract_key(s.name),
            blocking=True,
            description="For every file: rows read = rows loaded + rows quarantined, and the lake and "
            "quarantine Parquet hold exactly those rows.",
        )
        for s in EXTRACTS
    ],
    name="ledger_balances",
    can_subset=True,
    op_tags={"pfpw/stage": "ledger"},
)
def ledger_balances(context: dg.AssetCheckExecutionContext, paths: PfpwPaths):
    """Every (selected) extract's ledger against its Parquet, in one step: on an incremental night,
    the months the night rewrote (the lake's change record of the run); on any other, every month."""
    selected = {k.asset_key for k in context.selected_asset_check_keys}
    changed = (
        paths.lake.changes(context.run.run_id) if context.run.tags.get(REBUILD_TAG) is not None else None
    )
    for s in EXTRACTS:
        if extract_key(s.name) not in selected:
            continue
        months = None if changed is None else changed.get(s.name, [])
        problems = ledger_balance_problems(paths, s.name, months)
        yield dg.AssetCheckResult(
            asset_key=extract_key(s.name),
            check_name="ledger_balances",
            passed=not problems,
            metadata={
                "problems": len(problems),
                "first_problems": dg.MetadataValue.json(problems[:20]),
                "months_checked": "all" if months is None else len(months),
            },
        )


LEDGER_CHECKS = [ledger_balances, deliveries_due]
