"""What a run did, for the terminal: its :class:`Outcome` (from the run's events, the ledger and the served
file) and the summary `pfpw run` prints, with the headline figures of the latest publication."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster_project.console import StageReporter


@dataclass
class ReportRun:
    """The report's own run after a night (``pipeline.run_report``)."""

    run_id: str
    success: bool
    seconds: float
    errors: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        line = f"report run {self.run_id}: {'SUCCESS' if self.success else 'FAILED'} in {self.seconds:.0f}s"
        line += " (its own run, after the publication)"
        for step, cause in self.errors:
            line += f"\n  ERROR in {step}: {cause.strip().splitlines()[0][:400]}"
        if not self.success:
            line += "\n  the marts are published; `pfpw report` builds the report again"
        return line


@dataclass
class Outcome:
    success: bool
    run_id: str
    seconds: float = 0.0
    nothing_new_since: dict | None = None
    ledger: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    rekeyed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (step, root cause)
    checks_failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    published: bool = False
    headline: list[str] = field(default_factory=list)
    log_path: Path | None = None
    rebuilt_from: frozenset[str] | None = None  # an incremental night: the landing-zone parts that changed
    report: ReportRun | None = (
        None  # the report's own run after the night (None: not run, the report was current)
    )

    @property
    def all_succeeded(self) -> bool:
        """The night and, when it ran, the report's run after it: what `pfpw run`'s exit status says."""
        return self.success and (self.report is None or self.report.success)

    def summary(self) -> str:
        status = "SUCCESS" if self.success else "FAILED"
        lines = [f"pfpw run {self.run_id}: {status} in {self.seconds:.0f}s"]
        if self.nothing_new_since:
            pub = self.nothing_new_since
            lines.append(
                f"  nothing new since publication {pub['run_id']} at {pub['published_at']}: no landing file, "
                "reference table, PII key, code or dbt project changed; nothing was built or published"
            )
        if self.rebuilt_from is not None:
            lines.append(
                "  incremental: rebuilt what depends on "
                + (", ".join(sorted(self.rebuilt_from)) or "nothing")
                + "; everything else is as the last publication built it"
            )
        if self.rekeyed:
            lines.append(f"  re-keying: {self.rekeyed} files re-ingested under the new PFPW_PII_KEY")
        if self.ledger:
            lines.append(
                "  files: {files} ({loaded} loaded, {rejected} rejected, {ignored} ignored); rows: {rows_read:,} "
                "read = {rows_loaded:,} loaded + {rows_quarantined:,} quarantined".format(**self.ledger)
            )
        for f, reason in self.rejected[:10]:
            lines.append(f"  REJECTED {f}: {reason}")
        if len(self.rejected) > 10:
            lines.append(f"  … and {len(self.rejected) - 10} more rejected files (audit.ingest_ledger)")
        for f, reason in self.ignored[:5]:
            lines.append(f"  ignored  {f}: {reason}")
        if len(self.ignored) > 5:
            lines.append(f"  … and {len(self.ignored) - 5} more ignored files (audit.ingest_ledger)")
        for c in self.checks_failed:
            lines.append(f"  FAILED CHECK {c}")
        for w in self.warnings:
            lines.append(f"  warning {w}")
        for step, cause in self.errors:
            lines.append(f"  ERROR in {step}: {cause.strip().splitlines()[0][:400]}")
        if not self.nothing_new_since:
            lines.append(
                "  published: serving.duckdb replaced"
                if self.published
                else "  NOT PUBLISHED: serving.duckdb left as it was"
            )
        lines.extend(self.headline)
        if self.report is not None:
            lines.append(self.report.summary())
        if not self.success:
            lines.append(
                f"  the whole event log: `make ui`, then http://127.0.0.1:3000/runs/{self.run_id} (or pfpw run -v)"
            )
            if self.log_path:
                lines.append(f"  what the steps printed (dbt's log): {self.log_path}")
        return "\n".join(lines)


def summarise(
    result: dg.ExecuteInProcessResult | dg.JobExecutionResult,
    warehouse: Path,
    reporter: StageReporter,
    published: dict | None,
) -> Outcome:
    from dagster_project.defs.audits.checks import failed_expectations
    from dagster_project.ingest import snapshots
    from dagster_project.lake import Lake

    out = Outcome(success=result.success, run_id=result.run_id, nothing_new_since=published)
    out.errors = reporter.errors
    out.rekeyed = sum(
        int(stage.materializations[0][1].get("files_rekeyed", 0))
        for name, stage in reporter.stages.items()
        if name.startswith("ingest ") and stage.materializations
    )
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            if ev.passed:
                continue
            name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"
            failed = failed_expectations(dict(ev.metadata or {}))
            if ev.severity == dg.AssetCheckSeverity.WARN:
                out.warnings.append(f"{name}: {'; '.join(failed) or ev.description or 'failed'}")
            else:
                out.checks_failed.append(name + (f": {'; '.join(failed[:5])}" if failed else ""))
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            if mat.asset_key.path[0] == "serving":
                out.published = True
        elif event.event_type == dg.DagsterEventType.STEP_SKIPPED and reporter.stage_name(event) == "publish":
            out.errors.append(
                (
                    "publication",
                    "skipped: an asset it depends on was not materialized by this run (see the event log)",
                )
            )
    if published:  # nothing new: the run only recorded the state
        out.success = result.success
        return out
    ledger = snapshots.ledger(Lake(warehouse))  # the files changed since the ledger step read again, if any
    if ledger.height:
        data = ledger.filter(ledger["status"] != "ignored")
        files = data.unique("source_file")
        rejected = data.filter(data["status"] == "rejected")
        ignored = ledger.filter(ledger["status"] == "ignored")
        out.ledger = {
            "files": files.height + ignored.height,
            "loaded": files.height - rejected.unique("source_file").height,
            "rejected": rejected.unique("source_file").height,
            "ignored": ignored.height,
            "rows_read": int(data["rows_read"].sum()),
            "rows_loaded": int(data["rows_loaded"].sum()),
            "rows_quarantined": int(data["rows_quarantined"].sum()),
        }
        rej = rejected.unique(["source_file", "reason"]).sort("source_file")
        out.rejected = list(zip(rej["source_file"].to_list(), rej["reason"].to_list(), strict=True))
        out.ignored = list(zip(ignored["source_file"].to_list(), ignored["reason"].to_list(), strict=True))
    out.success = result.success and not out.checks_failed and out.published
    out.headline = headline(warehouse, this_run=result.run_id)
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


def headline(warehouse: Path, this_run: str | None = None) -> list[str]:
    """The district figures of the latest covered year, from the served file, saying which publication they are."""
    import duckdb

    from dagster_project.rounding import round_half_away

    db = warehouse / "serving.duckdb"
    if not db.exists():
        return ["  no publication yet: no figures to show"]
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return []
    lines = []
    try:
        run_id, published_at = con.execute(
            "select run_id, strftime(published_at at time zone 'UTC', '%Y-%m-%d %H:%M UTC') "
            "from audit.publication"
        ).fetchone()
        if this_run and run_id != this_run:
            lines.append(
                f"  the figures below are those of the LAST PUBLICATION, run {run_id} at {published_at}, "
                "not of this run"
            )
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
        return lines
    finally:
        con.close()
    return lines
