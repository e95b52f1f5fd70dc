"""Running the pipeline as one Dagster run recorded in the instance.

Used by ``pfpw run`` and the tests; holds no pipeline logic of its own: it decides whether
tonight has anything new (``state.py``), launches the nightly job in-process (the whole job,
or only the state record) with the landing zone, the warehouse and the workers it was given in
the run's config, prints a line per stage while it runs, and a short summary (``outcome.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from pathlib import Path
from typing import TextIO

import dagster as dg

from dagster_project import state
from dagster_project.console import StageReporter, stages_by_node
from dagster_project.locks import run_lock
from dagster_project.outcome import Outcome, ReportRun, summarise
from dagster_project.settings import Settings

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# the `pfpw run` that launched a run: a multiprocess run is created by Dagster's execute_job, which
# chooses its id; the stage reporter finds the run by this tag
INVOCATION_TAG = "pfpw/invocation"


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
    report: bool = True,
) -> Outcome:
    """The nightly job over the landing zone, in one run recorded in ``instance``.

    A night with nothing new runs the state record from a small job that imports neither the
    ingestion code nor dagster-dbt (a few seconds in all); otherwise the definitions are loaded
    and the night runs everything, or only what changed since the last publication.

    ``executor`` (default ``PFPW_EXECUTOR``, else in-process) ``multiprocess`` runs the steps in
    up to ``workers`` (``PFPW_WORKERS``, else the cores) processes at once: ingestion's work units
    side by side; in-process, ``workers`` processes read a unit's files. The steps get ``sources``,
    ``warehouse`` and ``workers`` from the run's config (``paths_run_config``), and the other
    settings from the environment they inherit. The run holds the warehouse for its steps, whichever
    process they run in.

    ``report``: after a night that published, the report's own run (:func:`run_report`), in
    ``outcome.report``; `pfpw run` passes False and runs it once it has printed the night's summary.
    """
    from dagster_project.dead_runs import fail_dead_runs, process_tags
    from dagster_project.defs.automation.jobs import nightly_request

    start = time.monotonic()
    given = Settings.from_env()
    key = given.key()
    executor = executor or given.executor
    workers = workers or given.workers
    instance = instance or dg.DagsterInstance.get()
    # runs whose process died without reporting (killed, out of memory) are not left STARTED
    for dead, reason in fail_dead_runs(instance, by=f"`pfpw run` (pid {os.getpid()})"):
        print(f"pfpw run: marked run {dead} FAILED: {reason}", file=out or sys.stdout, flush=True)
    with run_lock(warehouse):
        current = state.current_state(sources, key, warehouse)
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
        run_config = {**({} if verbose else QUIET_LOGS), **paths_run_config(sources, warehouse, workers)}
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
                    run_config=run_config,
                    tags={INVOCATION_TAG: invocation},
                )
            else:
                result = job.execute_in_process(
                    instance=instance,
                    tags={**request.tags, **process_tags()},  # the process running it (dead_runs.py)
                    raise_on_error=False,
                    run_id=invocation,
                    run_config=run_config,
                )
        named = log_path.with_name(f"{result.run_id}.log")  # a multiprocess run's id is known now
        if named != log_path and log_path.exists():
            log_path.replace(named)
        log_path = named
        outcome = summarise(result, warehouse, reporter, published)
        outcome.rebuilt_from = request.changes
        outcome.log_path = log_path
    outcome.seconds = time.monotonic() - start
    if report and outcome.success and report_due(warehouse):
        # the night ends with its publication (its seconds above); the report is its own run, after it
        outcome.report = run_report(
            sources, warehouse, instance, after=outcome.run_id, verbose=verbose, out=out
        )
    return outcome


def report_due(warehouse: Path) -> bool:
    """A publication is served and the report in <warehouse>/report was not built from it with this code."""
    from dagster_project.report.build import current_report, served_publication

    return served_publication(warehouse) is not None and current_report(warehouse) is None


def run_report(
    sources: Path,
    warehouse: Path,
    instance: dg.DagsterInstance,
    *,
    after: str | None = None,
    verbose: bool = False,
    out: TextIO | None = None,
) -> ReportRun:
    """The report job (``pfpw_report``) in its own run recorded in ``instance``, after the night ``after``:
    the night's run ends with the publication and does not wait for the report. Prints its stage line."""
    start = time.monotonic()
    job = report_only_job()
    run_id = str(uuid.uuid4())
    from dagster_project.dead_runs import process_tags

    # the process running it, as the night's (dead_runs.py: a run whose process died is failed, not left STARTED)
    tags = {**process_tags(), **({"pfpw/after": after} if after else {})}
    run_config = {**({} if verbose else QUIET_LOGS), **paths_run_config(sources, warehouse, 1)}
    with StageReporter(
        instance, run_id, stages=stages_by_node(_report_assets()), out=out or sys.stdout
    ) as reporter:
        result = job.execute_in_process(
            instance=instance, tags=tags, raise_on_error=False, run_id=run_id, run_config=run_config
        )
    return ReportRun(
        run_id=result.run_id,
        success=result.success,
        seconds=time.monotonic() - start,
        errors=reporter.errors,
    )


def paths_run_config(sources: Path, warehouse: Path, workers: int) -> dict:
    """Run config: every step's ``paths`` resource (``defs/resources.py``) set to this run's landing zone,
    warehouse and workers, whichever process the step runs in (the multiprocess executor's included)."""
    config = {"sources_dir": str(sources), "warehouse_dir": str(warehouse), "workers": workers}
    return {"resources": {"paths": {"config": config}}}


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
    # the fork server hands its step processes the environment it started with (the key, this run's
    # writer token): a new one per run, so a second run in this process is not the first's
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


def _report_assets() -> list[dg.AssetsDefinition]:
    from dagster_project.defs.serving.report import survey_report

    return [survey_report]


def _job_of(name: str, assets: list[dg.AssetsDefinition], description: str, tags: dict | None = None):
    """The job ``name`` over ``assets`` alone, in-process, from Definitions holding only them: neither dbt's
    manifest nor the ingestion code is loaded."""
    from dagster_project.defs.resources import PfpwPaths

    job = dg.define_asset_job(
        name,
        selection=[a.key for a in assets],
        description=description,
        tags=tags,
        executor_def=dg.in_process_executor,
    )
    defs = dg.Definitions(assets=assets, jobs=[job], resources={"paths": PfpwPaths()})
    return defs.resolve_job_def(name)


def report_only_job() -> dg.JobDefinition:
    """The report job (``pfpw_report``), as the UI's definitions have it."""
    from dagster_project.defs.automation.jobs import REPORT_JOB_DESCRIPTION, REPORT_JOB_NAME

    return _job_of(REPORT_JOB_NAME, _report_assets(), REPORT_JOB_DESCRIPTION)


def state_only_job() -> dg.JobDefinition:
    """The nightly job reduced to its state record."""
    from dagster_project.defs.automation.jobs import JOB_DESCRIPTION, JOB_NAME, WRITER_TAG

    return _job_of(JOB_NAME, _state_assets(), JOB_DESCRIPTION, WRITER_TAG)


def run_log_path(warehouse: Path, run_id: str, keep: int = 30) -> Path:
    """<warehouse>/logs/<run id>.log, keeping the newest ``keep`` logs."""
    folder = warehouse / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)[: -keep + 1]:
        old.unlink(missing_ok=True)
    return folder / f"{run_id}.log"
