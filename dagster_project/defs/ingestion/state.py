"""The first asset of every run: what the run is built from (imports nothing heavy).

A night with nothing new runs this asset alone, from a small Definitions that does not import
the ingestion code or dagster-dbt (see ``pipeline.py``).
"""

import dagster as dg

from dagster_project import dead_runs, state
from dagster_project.defs.ingestion.keys import STATE_KEY
from dagster_project.defs.resources import PfpwPaths

INGESTION_GROUP = "ingestion"
REBUILD_TAG = "pfpw/rebuild_from"  # set on incremental runs: the landing-zone parts they rebuild from


@dg.asset(
    key=STATE_KEY,
    group_name=INGESTION_GROUP,
    description="What this run is built from, recorded before anything is read: a digest of every landing "
    "file's content, the PII key's fingerprint and the code. A night whose state equals the last "
    "publication's has nothing new (`pfpw run` then records only this step).",
    kinds={"json"},
    op_tags={"pfpw/stage": "state"},
)
def landing_zone_state(context: dg.AssetExecutionContext, paths: PfpwPaths) -> dg.MaterializeResult:
    record_run_process(context)
    now = state.current_state(paths.sources, paths.settings.key(), paths.warehouse)
    state.record_run_state(paths.warehouse, context.run.run_id, now)
    pub = state.last_publication(paths.warehouse)
    same = state.nothing_new(paths.warehouse, now) is not None
    changed = now.differences(pub.get("state") if pub else None)
    planned = context.run.tags.get(REBUILD_TAG)
    if planned is not None and not same:
        # an incremental run was planned from the changes seen then: anything else that changed
        # since would not be ingested, yet would be recorded as published
        actual = state.changes_since_publication(paths.warehouse, now)
        if actual is None or not actual <= set(planned.split(",")):
            raise dg.Failure(
                f"the landing zone changed after this run was planned to rebuild from {planned!r} "
                f"(now: {', '.join(sorted(actual)) if actual is not None else 'a whole rebuild is needed'}); "
                "nothing was written: the next run takes the change in"
            )
    if same:
        context.log.info(f"nothing new since publication {pub['run_id']} at {pub['published_at']}")
    else:
        state.record_writer(paths.warehouse, context.run.run_id)  # this run will write the warehouse
        context.log.info(f"changed since the last publication: {', '.join(changed)}")
    return dg.MaterializeResult(
        metadata={
            "landing_files": now.files,
            "state_digest": now.digest[:16],
            "nothing_new": same,
            "changed": dg.MetadataValue.json(changed if not same else []),
            "last_publication": pub["run_id"] if pub else "none",
        }
    )


def record_run_process(context: dg.AssetExecutionContext) -> None:
    """The process that executes this run, as run tags, when whoever created the run did not record it
    (`pfpw run` does; the daemon and the UI do not): what ``dead_runs.fail_dead_runs`` checks.

    In-process executor: this step's process is the run worker. Multiprocess executor: the run worker is
    found from this step process through /proc (``dead_runs.run_worker_pid``); where it cannot be, nothing
    is recorded and the run is not checked (a step process's own pid would end before the run).
    """
    if dead_runs.PID_TAG in context.run.tags:
        return
    execution = (context.run.run_config or {}).get("execution") or {}
    multiprocess = ((execution.get("config") or {}).get("mode")) == "multiprocess"
    pid = dead_runs.run_worker_pid(multiprocess)
    if pid is not None:
        context.instance.add_run_tags(context.run.run_id, dead_runs.process_tags(pid))
