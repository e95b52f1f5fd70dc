"""The nightly run: 02:00 Asia/Shanghai, the whole pipeline, or a record that nothing is new."""

import dagster as dg

from dagster_project import state
from dagster_project.defs.automation.jobs import asset_graph_of, nightly_request, pfpw_nightly
from dagster_project.defs.executor import executor_run_config
from dagster_project.defs.resources import PfpwPaths


@dg.schedule(
    job=pfpw_nightly,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every night at 02:00 (Asia/Shanghai): ingest what changed in the landing zone, rebuild what "
    "depends on it, audit, publish; when nothing changed since the last publication, only record that.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext, paths: PfpwPaths):
    current = state.current_state(paths.sources, paths.settings.key(), paths.warehouse)
    request = nightly_request(
        current,
        state.nothing_new(paths.warehouse, current),
        trigger="schedule",
        changes=state.changes_since_publication(paths.warehouse, current),
        graph=asset_graph_of(context),
    )
    return dg.RunRequest(
        run_key=None,
        asset_selection=request.selection,
        tags=request.tags,
        # the state record alone (nothing new) is one small step: no processes to start for it
        run_config={} if request.nothing_new_since else executor_run_config(paths.settings),
    )
