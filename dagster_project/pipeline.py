"""Running the pipeline as one Dagster run recorded in the instance, and summarising it.

Used by ``pfpw run`` and the tests; holds no pipeline logic of its own: it decides whether
tonight has anything new (``state.py``), launches the nightly job in-process (the whole job,
or only the state record), prints a line per stage while it runs, and a short summary.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import dagster as dg

from dagster_project import settings, state
from dagster_project.console import StageReporter, stages_by_node
from dagster_project.locks import run_lock

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# the `pfpw run` that launched a run: a multiprocess run is created by Dagster's execute_job, which
# chooses its id; the stage reporter finds the run by this tag
INVOCATION_TAG = "pfpw/invocation"


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
        if not self.success:
            lines.append(
                f"  the whole event log: `make ui`, then http://127.0.0.1:3000/runs/{self.run_id} (or pfpw run -v)"
            )
            if self.log_path:
                lines.append(f"  what the steps printed (dbt's log): {self.log_path}")
        return "\n".join(lines)


def run_pipeline(
    sources: Path,
    warehouse: Path,
    instance: dg.DagsterInstance | None = None,
    *,
    verbose: bool = False,
    out: TextIO | None = None,
    bar: bool = False,
    trigger: str = "cli",
    executor: str | None = None,
    workers: int | None = None,
) -> Outcome:
    """The nightly job over the landing zone, in one run recorded in ``instance``.

    A night with nothing new runs the state record from a small job that imports neither the
    ingestion code nor dagster-dbt (a few seconds in all); otherwise the definitions are loaded
    and the night runs everything, or only what changed since the last publication.

    ``executor`` (default ``PFPW_EXECUTOR``, else in-process) ``multiprocess`` runs the steps in
    up to ``workers`` (``PFPW_WORKERS``, else the cores) processes at once: ingestion's work units
    side by side. The run holds the warehouse for its steps, whichever process they run in.
    """
    from dagster_project.dead_runs import fail_dead_runs, process_tags
    from dagster_project.defs.automation.jobs import nightly_request

    start = time.monotonic()
    key = settings.pii_key()
    executor = executor or settings.executor()
    workers = workers or settings.workers()
    instance = instance or dg.DagsterInstance.get()
    # runs whose process died without reporting (killed, out of memory) are not left STARTED
    for dead, reason in fail_dead_runs(instance, by=f"`pfpw run` (pid {os.getpid()})"):
        print(f"pfpw run: marked run {dead} FAILED: {reason}", file=out or sys.stdout, flush=True)
    with run_lock(warehouse):
        current = state.current_state(sources, key)
        published = state.nothing_new(warehouse, current)
        if published:
            request = nightly_request(current, published, trigger=trigger)
            job = state_only_job()
            stages = stages_by_node(_state_assets())
        else:
            from dagster_project.defs.dbt.project import prepare_manifest

            prepare_manifest()  # before the definitions load: they are built from the manifest
            from dagster_project.definitions import defs

            changes = state.changes_since_publication(warehouse, current)
            request = nightly_request(current, None, trigger, changes=changes, graph=defs)
            job = defs.resolve_job_def("pfpw_nightly")
            if request.selection:
                job = job.get_subset(asset_selection=set(request.selection))
            stages = stages_by_node(defs)
        parallel = executor == "multiprocess" and not published
        # this invocation's id: the in-process run's own id (a UUID, as Dagster's), the multiprocess run's tag
        invocation = str(uuid.uuid4())
        log_path = run_log_path(warehouse, invocation)
        with contextlib.ExitStack() as stack:
            terminal = out or sys.stdout
            if not verbose:  # what the steps print (dbt's own log lines) goes to the run's log file
                log = stack.enter_context(log_path.open("w", encoding="utf-8"))
                if parallel:  # step processes write to the file descriptors they inherit
                    terminal = out or stack.enter_context(_descriptors_to(log))
                else:
                    stack.enter_context(contextlib.redirect_stdout(log))
            reporter = stack.enter_context(
                StageReporter(
                    instance,
                    None if parallel else invocation,
                    tags={INVOCATION_TAG: invocation} if parallel else None,
                    stages=stages,
                    out=terminal,
                    bar=bar and not parallel,
                )
            )
            if parallel:
                result = execute_multiprocess(
                    instance,
                    request,
                    workers,
                    run_config=None if verbose else QUIET_LOGS,
                    tags={INVOCATION_TAG: invocation},
                )
            else:
                result = job.execute_in_process(
                    instance=instance,
                    tags={**request.tags, **process_tags()},  # the process running it (dead_runs.py)
                    raise_on_error=False,
                    run_id=invocation,
                    run_config=None if verbose else QUIET_LOGS,
                )
        named = log_path.with_name(f"{result.run_id}.log")  # a multiprocess run's id is known now
        if named != log_path and log_path.exists():
            log_path.replace(named)
        log_path = named
        outcome = summarise(result, warehouse, reporter, published)
        outcome.rebuilt_from = request.changes
        outcome.log_path = log_path
    outcome.seconds = time.monotonic() - start
    return outcome


def execute_multiprocess(
    instance: dg.DagsterInstance,
    request,
    workers: int,
    run_config: dict | None,
    tags: dict[str, str] | None = None,
) -> dg.JobExecutionResult:
    """The nightly job (or its incremental selection) on the multiprocess executor, through Dagster's
    ``execute_job``, which creates the run (``tags`` added to the request's) and runs it in this process.

    The job is reconstructable (``definitions.nightly_job``): each step process loads it from the module.
    """
    from dagster_project.dagster_private import restart_fork_server
    from dagster_project.dead_runs import process_tags
    from dagster_project.definitions import nightly_job
    from dagster_project.defs.executor import multiprocess_config

    if instance.is_ephemeral:
        raise ValueError("the multiprocess executor needs a persistent Dagster instance (DAGSTER_HOME)")
    # the fork server hands its step processes the environment it started with (the warehouse, the
    # key, this run's writer token): a new one per run, so a second run in this process is not the first's
    restart_fork_server()
    return dg.execute_job(
        dg.reconstructable(nightly_job),
        instance=instance,
        run_config={**(run_config or {}), **multiprocess_config(workers)},
        # the run worker: this process (dead_runs.py)
        tags={**request.tags, **process_tags(), **(tags or {})},
        asset_selection=list(request.selection) if request.selection else None,
        raise_on_error=False,
    )


@contextlib.contextmanager
def _descriptors_to(log: TextIO):
    """Standard output and error (the descriptors step processes inherit) into ``log``; yields the terminal."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    terminal = os.fdopen(os.dup(saved[0]), "w", encoding="utf-8", buffering=1)
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        terminal.close()


def _state_assets() -> list[dg.AssetsDefinition]:
    from dagster_project.defs.ingestion.state import landing_zone_state

    return [landing_zone_state]


def state_only_job() -> dg.JobDefinition:
    """The nightly job reduced to its state record, from Definitions holding that asset alone."""
    from dagster_project.defs.automation.jobs import JOB_DESCRIPTION, JOB_NAME, WRITER_TAG
    from dagster_project.defs.resources import PfpwPaths

    assets = _state_assets()
    job = dg.define_asset_job(
        JOB_NAME,
        selection=[a.key for a in assets],
        description=JOB_DESCRIPTION,
        tags=WRITER_TAG,
        executor_def=dg.in_process_executor,
    )
    defs = dg.Definitions(assets=assets, jobs=[job], resources={"paths": PfpwPaths()})
    return defs.resolve_job_def(JOB_NAME)


def run_log_path(warehouse: Path, run_id: str, keep: int = 30) -> Path:
    """<warehouse>/logs/<run id>.log, keeping the newest ``keep`` logs."""
    folder = warehouse / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)[: -keep + 1]:
        old.unlink(missing_ok=True)
    return folder / f"{run_id}.log"


def summarise(
    result: dg.ExecuteInProcessResult | dg.JobExecutionResult,
    warehouse: Path,
    reporter: StageReporter,
    published: dict | None,
) -> Outcome:
    from dagster_project.defs.audits.checks import failed_expectations
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
    ledger = Lake(warehouse).ledger()
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
