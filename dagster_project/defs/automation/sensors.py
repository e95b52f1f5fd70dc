"""The landing-zone sensor: a run as soon as anything in the landing zone changed.

Every minute it takes a cheap fingerprint of the landing zone (per top-level folder: file
names, sizes and modification times), so new, corrected and withdrawn files, new folders and
changed reference tables are all noticed. A change is acted on only once a later tick sees
the same fingerprint (a delivery still being copied in is not run half-way). Only then does it
hash the files' content: a touched but unchanged landing zone whose content equals the last
publication's requests nothing. Otherwise it requests the nightly job, planned like every
night (``jobs.nightly_request``: only what depends on the changed parts when the warehouse
still holds the last publication exactly, else everything), keyed by the content state so
that one state is never run twice.

The report sensor (on by default): after a night the daemon ran that published, the report's own run
(``pfpw_report``), off the night's critical path; `pfpw run` runs it itself, so its nights are left alone.

The dead-runs sensor (on by default, every minute): marks failed the runs of this host whose process
died without reporting, so that none is left STARTED holding the queue's writer slot (``dead_runs.py``).
"""

from __future__ import annotations

import json

import dagster as dg

from dagster_project import state
from dagster_project.defs.automation.jobs import asset_graph_of, nightly_request, pfpw_nightly, pfpw_report
from dagster_project.defs.executor import executor_run_config
from dagster_project.defs.resources import PfpwPaths
from dagster_project.settings import Settings


@dg.sensor(
    job=pfpw_nightly,
    # read once, when the definitions load: the daemon test uses a few seconds
    minimum_interval_seconds=Settings.from_env().sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the pipeline when extract files land, are corrected or withdrawn, or reference/ changes.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, paths: PfpwPaths):
    cursor = json.loads(context.cursor) if context.cursor else {}
    seen, handled = cursor.get("seen"), cursor.get("handled", {})
    now = state.stat_fingerprint(paths.sources)
    if now != seen:  # still moving, or a delivery being copied in: wait until a tick sees it unchanged
        return dg.SensorResult(
            skip_reason="the landing zone changed: waiting one interval for it to settle",
            cursor=json.dumps({"seen": now, "handled": handled}, sort_keys=True),
        )
    changed = sorted(k for k in set(handled) | set(now) if handled.get(k) != now.get(k))
    settled = json.dumps({"seen": now, "handled": now}, sort_keys=True)
    if not changed:
        return dg.SensorResult(skip_reason="no new, corrected or withdrawn files", cursor=settled)
    current = state.current_state(paths.sources, paths.settings.key(), paths.warehouse)
    if pub := state.nothing_new(paths.warehouse, current):
        return dg.SensorResult(
            skip_reason=f"files touched, content unchanged since publication {pub['run_id']}", cursor=settled
        )
    last = state.last_publication(paths.warehouse)
    request = nightly_request(
        current,
        None,
        trigger="sensor",
        changes=state.changes_since_publication(paths.warehouse, current),
        graph=asset_graph_of(context),
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                # the content state *and* the publication it differs from: a landing zone that goes back
                # to an earlier state after a newer publication is run again (Dagster never reruns a key)
                run_key=f"{current.digest}:{last['run_id'] if last else 'unpublished'}",
                asset_selection=request.selection,
                tags={**request.tags, "pfpw/changed": ",".join(changed)[:200]},
                run_config=executor_run_config(paths.settings),
            )
        ],
        cursor=settled,
    )


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks failed the runs of this host whose process died without reporting (killed, out of "
    "memory): no run is left STARTED, nor holds the queue's warehouse-writer slot (dead_runs.py).",
)
def dead_runs_sensor(context: dg.SensorEvaluationContext):
    from dagster_project.dead_runs import fail_dead_runs, untagged_active_runs

    failed = fail_dead_runs(context.instance, by="the dead_runs_sensor")
    for run_id, reason in failed:
        context.log.warning(f"run {run_id} marked FAILED: {reason}")
    said = (
        f"marked {len(failed)} run(s) FAILED whose process is gone: {', '.join(r for r, _ in failed)}"
        if failed
        else "no run of this host with its process gone"
    )
    if untagged := untagged_active_runs(context.instance):
        said += f"; {len(untagged)} active run(s) name no process, left alone: {', '.join(untagged[:5])}"
    return dg.SkipReason(said)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[pfpw_nightly],
    request_job=pfpw_report,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a night of the daemon (schedule or landing-zone sensor) that published: the report's own "
    "run, so the night ends with the publication. `pfpw run` runs the report itself after its nights.",
)
def report_after_publication(context: dg.RunStatusSensorContext):
    night = context.dagster_run
    if night.tags.get("pfpw/trigger") == "cli":
        return dg.SkipReason(f"run {night.run_id} is a `pfpw run`, which runs its report itself")
    if "pfpw/nothing_new_since" in night.tags:
        return dg.SkipReason(f"run {night.run_id} had nothing new: the served publication is unchanged")
    return dg.RunRequest(run_key=night.run_id, tags={"pfpw/after": night.run_id})
