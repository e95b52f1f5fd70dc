"""The one Definitions object: what the Dagster UI, the CLI and the tests load."""

import dagster as dg

from dagster_project.assets.ingestion import (
    AGENCY_ASSETS,
    LEDGER_CHECKS,
    landing_zone_inventory,
    reference_tables,
)
from dagster_project.jobs import pfpw_nightly
from dagster_project.resources import PfpwPaths

defs = dg.Definitions(
    assets=[reference_tables, landing_zone_inventory, *AGENCY_ASSETS],
    asset_checks=[*LEDGER_CHECKS],
    jobs=[pfpw_nightly],
    resources={"paths": PfpwPaths()},
)
