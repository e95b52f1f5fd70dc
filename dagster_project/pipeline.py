"""Running the whole pipeline as one Dagster run recorded in the instance, and summarising it.

Used by ``pfpw run`` and the tests; holds no pipeline logic of its own, only how
to launch the job over every reporting month and what to print afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from dagster_project.checks.asset_checks import failed_expectations
from dagster_project.ingest.run import landing_months
from dagster_project.lake import Lake
from dagster_project.locks import writer_lock
from dagster_project.partitions import reporting_month
from dagster_project.rounding import round_half_away

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class Outcome:
    success: bool
    run_id: str
    months: list[str]
    ledger: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    marts_built: list[str] = field(default_factory=list)
    published: bool = False
    dbt_tests: tuple[int, int] = (0, 0)  # passed, failed
    headline: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"pfpw run {self.run_id}: {'SUCCESS' if self.success else 'FAILED'}",
            f"  months: {self.months[0]} .. {self.months[-1]} ({len(self.months)})"
            if self.months
            else "  months: none",
            "  files: {files} ({loaded} loaded, {rejected} rejected, {ignored} ignored)".format(**self.ledger)
            if self.ledger
            else "  files: none",
            "  rows: {rows_read} read, {rows_loaded} loaded, {rows_quarantined} quarantined".format(
                **self.ledger
            )
            if self.ledger
            else "",
        ]
        for f, reason in self.rejected:
            lines.append(f"  REJECTED {f}: {reason}")
        for f, reason in self.ignored:
            lines.append(f"  ignored  {f}: {reason}")
        lines.append(
            f"  marts built: {len(self.marts_built)}"
            + (f" ({', '.join(self.marts_built)})" if self.marts_built else "")
        )
        lines.append(f"  dbt tests: {self.dbt_tests[0]} passed, {self.dbt_tests[1]} failed")
        lines.append(f"  checks: {self.checks_passed} passed, {len(self.checks_failed)} failed")
        for c in self.checks_failed:
            lines.append(f"  FAILED CHECK {c}")
        for w in self.warnings:
            lines.append(f"  warning {w}")
        lines.append(
            "  published: serving.duckdb replaced"
            if self.published
            else "  NOT PUBLISHED: serving.duckdb left as it was"
        )
        for s in self.failed_steps:
            lines.append(f"  FAILED STEP {s}")
        lines.extend(self.headline)
        lines.extend(self.extra)
        return "\n".join(line for line in lines if line)


def run_pipeline(
    sources: Path, warehouse: Path, instance: dg.DagsterInstance | None = None, job_name: str = "pfpw_nightly"
) -> Outcome:
    """Run ``job_name`` over every reporting month in the landing zone, in one run."""
    from dagster_project.definitions import defs

    instance = instance or dg.DagsterInstance.get()
    months = landing_months(sources)
    known = set(instance.get_dynamic_partitions(reporting_month.name))
    new = [m for m in months if m not in known]
    if new:
        instance.add_dynamic_partitions(reporting_month.name, new)
    job = defs.resolve_job_def(job_name)
    tags = {RANGE_START: months[0], RANGE_END: months[-1]} if months else {}
    if not months:  # nothing monthly has landed: run what is not partitioned
        job = job.get_subset(asset_selection=_unpartitioned_keys(defs))
    with writer_lock(warehouse):
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
        return summarise(result, months, Lake(warehouse))


def _unpartitioned_keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return {
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).partitions_def is None and graph.get(k).is_materializable
    }


def summarise(result: dg.ExecuteInProcessResult, months: list[str], lake: Lake) -> Outcome:
    out = Outcome(success=result.success, run_id=result.run_id, months=months)
    ledger = lake.ledger()
    if ledger.height:
        data = ledger.filter(ledger["status"] != "ignored")
        files = data.unique("source_file")
        out.ledger = {
            "files": files.height + ledger.filter(ledger["status"] == "ignored").height,
            "loaded": files.height - data.filter(data["status"] == "rejected").unique("source_file").height,
            "rejected": data.filter(data["status"] == "rejected").unique("source_file").height,
            "ignored": ledger.filter(ledger["status"] == "ignored").height,
            "rows_read": int(data["rows_read"].sum()),
            "rows_loaded": int(data["rows_loaded"].sum()),
            "rows_quarantined": int(data["rows_quarantined"].sum()),
        }
        rej = data.filter(data["status"] == "rejected").unique(["source_file", "reason"]).sort("source_file")
        out.rejected = list(zip(rej["source_file"].to_list(), rej["reason"].to_list(), strict=True))
        ign = ledger.filter(ledger["status"] == "ignored")
        out.ignored = list(zip(ign["source_file"].to_list(), ign["reason"].to_list(), strict=True))
    dbt_passed = dbt_failed = 0
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"
            is_dbt = ev.asset_key.path[0] in (
                "staging",
                "intermediate",
                "marts",
                "audit",
            ) and not ev.check_name.startswith("gx_")
            failed = failed_expectations(dict(ev.metadata or {}))
            if ev.passed:
                out.checks_passed += 1
                dbt_passed += is_dbt
            elif ev.severity == dg.AssetCheckSeverity.WARN:
                out.warnings.append(f"{name}: {'; '.join(failed)}")
            else:
                out.checks_failed.append(f"{name}" + (f": {'; '.join(failed[:5])}" if failed else ""))
                dbt_failed += is_dbt
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            key = event.event_specific_data.materialization.asset_key
            if key.path[0] == "marts":
                out.marts_built.append(key.path[-1])
            elif key.path[0] == "serving":
                out.published = True
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            err = event.event_specific_data.error
            msg = err.message.strip().splitlines()[0] if err else ""
            out.failed_steps.append(f"{event.step_key}: {msg}")
    out.dbt_tests = (dbt_passed, dbt_failed)
    out.success = out.success and not out.checks_failed and out.published
    out.headline = headline(lake.root)
    return out


HEADLINE = (
    ("population_indicators_district", "births", "births", 0),
    ("population_indicators_district", "planned_birth_rate", "planned birth rate %", 2),
    ("population_indicators_district", "sex_ratio_at_birth", "sex ratio at birth", 2),
    ("population_indicators_district", "natural_growth_rate_permille", "natural growth ‰", 2),
    ("fee_collection_district", "filing_rate", "fee filing rate %", 2),
    ("fee_collection_district", "collection_rate", "fee collection rate %", 2),
    ("fee_collection_district", "compliance_rate", "fee compliance rate %", 2),
    ("enforcement_outcomes_district", "court_applications", "court applications", 0),
    ("enforcement_outcomes_district", "deposits_amount", "deposits frozen/transferred (yuan)", 2),
    ("service_station_coverage_district", "stations_total", "service stations", 0),
)


def headline(warehouse: Path) -> list[str]:
    """The district figures of the latest covered year, read from the database BI reads (else the working one)."""
    import duckdb

    for name in ("serving.duckdb", "warehouse.duckdb"):
        db = warehouse / name
        if db.exists():
            break
    else:
        return []
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return []
    lines = []
    try:
        for district, year in con.sql(
            "select district_code, max(year) from marts.population_indicators_district group by 1 order by 1"
        ).fetchall():
            parts = []
            for table, column, label, places in HEADLINE:
                value = con.execute(
                    f"select {column} from marts.{table} where district_code = ? and year = ?",
                    [district, year],
                ).fetchone()
                shown = "NULL" if not value or value[0] is None else f"{round_half_away(value[0], places):,}"
                parts.append(f"{label} {shown}")
            lines.append(f"  district {district}, {year}: " + "; ".join(parts))
    except duckdb.Error:
        return []
    finally:
        con.close()
    return lines
