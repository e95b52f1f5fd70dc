"""Automation's definitions: the nightly job, its schedule, the landing-zone and dead-runs sensors."""

import dagster as dg

from dagster_project.defs.automation.jobs import pfpw_nightly
from dagster_project.defs.automation.schedules import nightly_schedule
from dagster_project.defs.automation.sensors import dead_runs_sensor, landing_zone_sensor

defs = dg.Definitions(
    jobs=[pfpw_nightly],
    schedules=[nightly_schedule],
    sensors=[landing_zone_sensor, dead_runs_sensor],
)
