"""The ledger, the quarantine and the deliveries' status, consolidated once every agency's extracts are in,
and their checks: each extract's ledger balances against the Parquet actually written (blocking), and
each agency's units delivered their months by the due date (a warning).
"""

import dagster as dg
import duckdb
import polars as pl

from dagster_project import digests
from dagster_project.defs.ingestion.assets import md_table
from dagster_project.defs.ingestion.keys import (
    DELIVERY_KEY,
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    TARGETS_KEY,
    extract_key,
)
from dagster_project.defs.ingestion.state import INGESTION_GROUP, REBUILD_TAG
from dagster_project.defs.resources import PfpwPaths
from dagster_project.ingest import seals
from dagster_project.schemas.contract import AGENCIES, EXTRACTS


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            LEDGER_KEY,
            group_name=INGESTION_GROUP,
            kinds={"parquet"},
            deps=[*(extract_key(s.name) for s in EXTRACTS), INVENTORY_KEY, TARGETS_KEY],
            description="The ingest ledger: every delivered file per extract (hash, size, rows read, "
            "loaded, quarantined, status, reason, run) and the ignored files, in one Parquet file.",
        ),
        dg.AssetSpec(
            QUARANTINE_KEY,
            group_name=INGESTION_GROUP,
            kinds={"parquet"},
            deps=[*(extract_key(s.name) for s in EXTRACTS), TARGETS_KEY],
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
    digests.release()  # every agency's ingestion is done: the night's steps after it never look at the landing files
    with paths.writer_lock():
        lake = paths.prepared_lake()
        # read once: the snapshot dbt reads, and the seals of the months it shows in line (ingest/seals.py)
        ledger, quarantine = lake.consolidate(seals.read_ledger_and_seal(lake), seals.read_quarantine(lake))
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
    con = duckdb.connect(config=paths.settings.duckdb_config(paths.warehouse))
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
