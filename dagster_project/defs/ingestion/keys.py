"""The asset keys the graph is wired by, in a module that imports nothing heavy.

The nothing-new path of ``pfpw run``, the schedule and the sensor plan a night from these keys
without importing the ingestion code (pandera, polars) or dagster-dbt.
"""

import dagster as dg

from dagster_project.schemas.contract import AGENCIES, EXTRACTS, REFERENCE_TABLES

STATE_KEY = dg.AssetKey(["lake", "landing_zone_state"])
INVENTORY_KEY = dg.AssetKey(["lake", "landing_zone_inventory"])
LEDGER_KEY = dg.AssetKey(["lake", "ingest_ledger"])
QUARANTINE_KEY = dg.AssetKey(["lake", "quarantine"])
REFERENCE_KEYS = {name: dg.AssetKey(["reference", name]) for name in REFERENCE_TABLES}
DELIVERY_KEY = dg.AssetKey(["lake", "delivery_status"])
TARGETS_KEY = dg.AssetKey(["reference", "targets"])  # reference/targets.csv (defs/ingestion/targets.py)
SERVING_KEY = dg.AssetKey(["serving", "serving_database"])
REPORT_KEY = dg.AssetKey(["report", "survey_report"])


def extract_key(extract: str) -> dg.AssetKey:
    return dg.AssetKey(["lake", extract])


def mart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


EXTRACT_KEYS_BY_AGENCY = {a: [extract_key(s.name) for s in EXTRACTS if s.agency == a] for a in AGENCIES}
