"""The responsibility targets (``reference/targets.csv``) as an asset: read, checked and quarantined like an
extract's rows, listed in the ledger (``ingest/targets.py``), with a blocking check that the ledger balances.

Targets are not ingestion reference data: no extract depends on them. A night on which only ``targets.csv``
changed (the landing-zone part ``targets``, ``state.landing_parts``) runs this asset, the ledger and what
dbt builds from the targets (``jobs.incremental_selection``), and re-ingests nothing else.
"""

import dagster as dg

from dagster_project.defs.ingestion.assets import REFERENCE_GROUP
from dagster_project.defs.ingestion.keys import REFERENCE_KEYS, STATE_KEY, TARGETS_KEY
from dagster_project.defs.resources import PfpwPaths
from dagster_project.schemas.targets import TARGET_COLUMNS


@dg.asset(
    key=TARGETS_KEY,
    group_name=REFERENCE_GROUP,
    description="reference/targets.csv (optional): the responsibility targets the city sets for each district and "
    "the district for each township, one row a target. Rows with a fault are quarantined with their reasons "
    "(extract `targets`), the file is in the ledger; the valid targets go to lake/targets/targets.parquet "
    "(empty without a targets.csv: the target marts are then empty).",
    kinds={"parquet", "polars"},
    deps=[STATE_KEY, *REFERENCE_KEYS.values()],
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c, "DOUBLE" if c == "target" else "VARCHAR") for c in TARGET_COLUMNS]
        )
    },
    op_tags={"pfpw/stage": "ingest.targets"},
)
def responsibility_targets(context: dg.AssetExecutionContext, paths: PfpwPaths) -> dg.MaterializeResult:
    from dagster_project.ingest.targets import ingest_targets
    from dagster_project.reference import load_reference

    settings = paths.settings
    reference = load_reference(paths.sources)
    with paths.writer_lock():
        report = ingest_targets(
            paths.sources,
            paths.prepared_lake(),
            reference,
            settings.key(),
            settings.max_file_bytes,
            run_id=context.run.run_id,
        )
    for rel, reason in report.rejected:
        context.log.error(f"rejected {rel}: {reason}")
    if not report.files_seen:
        context.log.info("no reference/targets.csv: no targets, the target marts are empty")
    return dg.MaterializeResult(
        metadata={
            "files_seen": report.files_seen,
            "files_ingested": report.files_ingested,
            "files_unchanged": report.files_unchanged,
            "files_withdrawn": report.files_removed,
            "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "rejected_files": dg.MetadataValue.json([f"{f}: {r}" for f, r in report.rejected]),
        }
    )


@dg.asset_check(
    asset=TARGETS_KEY,
    name="ledger_balances",
    blocking=True,
    description="targets.csv's ledger row: rows read = rows loaded + rows quarantined, and the lake and quarantine "
    "Parquet hold exactly those rows.",
    op_tags={"pfpw/stage": "ledger"},
)
def targets_ledger_balances(paths: PfpwPaths) -> dg.AssetCheckResult:
    from dagster_project.ingest.targets import balance_problems

    problems = balance_problems(paths.lake)
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": dg.MetadataValue.json(problems)})


TARGETS_ASSETS, TARGETS_CHECKS = [responsibility_targets], [targets_ledger_balances]
