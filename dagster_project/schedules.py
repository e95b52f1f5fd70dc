"""The nightly run: the whole pipeline at 02:00 Asia/Shanghai, over every reporting month."""

import dagster as dg

from dagster_project.ingest.run import landing_months
from dagster_project.jobs import pfpw_nightly
from dagster_project.partitions import reporting_month
from dagster_project.resources import PfpwPaths

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dg.schedule(
    job=pfpw_nightly,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every night at 02:00 (Asia/Shanghai): ingest every month of the landing zone, build, audit, publish.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext, paths: PfpwPaths):
    months = landing_months(paths.sources)
    if not months:
        return dg.SkipReason(f"no month folders in {paths.sources}")
    known = set(context.instance.get_dynamic_partitions(reporting_month.name))
    new = [m for m in months if m not in known]
    if new:
        context.instance.add_dynamic_partitions(reporting_month.name, new)
    return dg.RunRequest(
        run_key=None,
        tags={RANGE_START: months[0], RANGE_END: months[-1]},
    )
