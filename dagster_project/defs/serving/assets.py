"""Publication: the served database BI reads, written only after every blocking audit passed."""

import dagster as dg

from dagster_project.defs.audits.checks import failed_expectations
from dagster_project.defs.ingestion.keys import SERVING_KEY
from dagster_project.defs.ingestion.state import REBUILD_TAG
from dagster_project.defs.resources import PfpwPaths
from dagster_project.publish import publish
from dagster_project.state import run_state


def run_check_results(context: dg.AssetExecutionContext) -> list[dict]:
    """This run's asset check evaluations (dbt tests, GX suites, ledger balances)."""
    records = context.instance.all_logs(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    out = []
    for record in records:
        ev = record.dagster_event.event_specific_data
        out.append(
            {
                "asset": ev.asset_key.to_user_string(),
                "check": ev.check_name,
                "passed": bool(ev.passed),
                "severity": ev.severity.value if ev.severity else "ERROR",
                "failed": failed_expectations(dict(ev.metadata or {})),
            }
        )
    return out


def build_serving_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=SERVING_KEY,
        deps=upstream,
        group_name="serving",
        kinds={"duckdb", "parquet"},
        description="<warehouse>/serving.duckdb (schemas marts and audit, no person-level row) and "
        "serving/*.parquet: what BI reads; <warehouse>/data_team.duckdb: the data team's audit tables, "
        "person-level ones included. "
        "Written to a new file, scanned for personal data, fsynced and atomically moved over the served "
        "one, only when every blocking audit of the run passed.",
        op_tags={"pfpw/stage": "publish"},
    )
    def serving_database(context: dg.AssetExecutionContext, paths: PfpwPaths) -> dg.MaterializeResult:
        results = run_check_results(context)
        blocking_failures = [r for r in results if not r["passed"] and r["severity"] == "ERROR"]
        if blocking_failures:
            names = ", ".join(f"{r['asset']}:{r['check']}" for r in blocking_failures)
            raise dg.Failure(f"audits failed, the served database is left as it was: {names}")
        with paths.writer_lock():
            pub = publish(
                paths.warehouse,
                context.run.run_id,
                results,
                paths.settings.key(),
                state=run_state(paths.warehouse, context.run.run_id),
                carry_results=REBUILD_TAG in context.run.tags,
            )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(pub.path)),
                "tables": dg.MetadataValue.json(pub.tables),
                "team_audit_file": dg.MetadataValue.path(str(pub.path.with_name("data_team.duckdb"))),
                "team_tables": dg.MetadataValue.json(pub.team_tables),
                "audits_passed": sum(r["passed"] for r in results),
                "audits_warned": sum((not r["passed"]) and r["severity"] == "WARN" for r in results),
                "parquet_exports": len(pub.parquet),
            }
        )

    return serving_database
