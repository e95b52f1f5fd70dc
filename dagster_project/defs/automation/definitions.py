"""Automation's definitions: the nightly and report jobs, the schedule, the landing-zone, report and dead-runs sensors."""

import dagster as dg

from dagster_project.defs.automation.jobs import pfpw_nightly, pfpw_report
from dagster_project.defs.automation.schedules import nightly_schedule
from dagster_project.defs.automation.sensors import (
    dead_runs_sensor,
    landing_zone_sensor,
    report_after_publication,
)

defs = dg.Definitions(
    jobs=[pfpw_nightly, pfpw_report],
    schedules=[nightly_schedule],
    sensors=[landing_zone_sensor, dead_runs_sensor, report_after_publication],
)
