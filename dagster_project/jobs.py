"""Jobs: the whole pipeline, and ingestion with everything downstream of it."""

import dagster as dg

WRITER_TAG = {"pfpw/warehouse-writer": "true"}  # limited to one run at a time by the instance (dagster.yaml)

pfpw_nightly = dg.define_asset_job(
    name="pfpw_nightly",
    selection=dg.AssetSelection.all(),
    description="Everything: ingest the landing zone, build the marts, audit, publish.",
    tags=WRITER_TAG,
    executor_def=dg.in_process_executor,  # one writer at a time inside a run, too
)
