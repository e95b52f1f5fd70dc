"""Ingestion's definitions: the landing-zone state, the reference tables, the inventory, each agency's extracts,
the ledger and quarantine, and the ledger's checks."""

import dagster as dg

from dagster_project.defs.ingestion.assets import AGENCY_ASSETS, landing_zone_inventory, reference_tables
from dagster_project.defs.ingestion.ledger import LEDGER_CHECKS, ingest_audit
from dagster_project.defs.ingestion.state import landing_zone_state
from dagster_project.defs.ingestion.targets import TARGETS_ASSETS, TARGETS_CHECKS

defs = dg.Definitions(
    assets=[
        landing_zone_state,
        reference_tables,
        landing_zone_inventory,
        *AGENCY_ASSETS,
        ingest_audit,
        *TARGETS_ASSETS,
    ],
    asset_checks=[*LEDGER_CHECKS, *TARGETS_CHECKS],
)
