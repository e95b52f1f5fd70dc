"""The one Definitions object: what the Dagster UI, the CLI and the tests load."""

import dagster as dg

from dagster_project.assets.ingestion import (
    AGENCY_ASSETS,
    LEDGER_CHECKS,
    ingest_audit,
    landing_zone_inventory,
    reference_tables,
)
from dagster_project.assets.report import survey_report
from dagster_project.assets.serving import build_serving_asset
from dagster_project.assets.state import landing_zone_state
from dagster_project.checks.asset_checks import GX_CHECKS
from dagster_project.dbt_assets import dbt_models, dbt_resource
from dagster_project.jobs import pfpw_nightly
from dagster_project.resources import PfpwPaths
from dagster_project.schedules import nightly_schedule
from dagster_project.sensors import dead_runs_sensor, landing_zone_sensor

PUBLISHED = [k for k in dbt_models.keys if k.path[0] in ("marts", "audit")]

defs = dg.Definitions(
    assets=[
        landing_zone_state,
        reference_tables,
        landing_zone_inventory,
        *AGENCY_ASSETS,
        ingest_audit,
        dbt_models,
        build_serving_asset(PUBLISHED),
        survey_report,
    ],
    asset_checks=[*LEDGER_CHECKS, *GX_CHECKS],
    jobs=[pfpw_nightly],
    schedules=[nightly_schedule],
    sensors=[landing_zone_sensor, dead_runs_sensor],
    resources={"paths": PfpwPaths(), "dbt": dbt_resource},
)
