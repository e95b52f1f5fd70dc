"""The job, and what one night asks of it: the whole pipeline, or only the record that nothing is new."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from dagster_project.assets.ingestion import STATE_KEY
from dagster_project.state import State

WRITER_TAG = {"pfpw/warehouse-writer": "true"}  # limited to one run at a time by the instance (dagster.yaml)

pfpw_nightly = dg.define_asset_job(
    name="pfpw_nightly",
    selection=dg.AssetSelection.all(),
    description="Everything: ingest the landing zone (unchanged files are not read again), build the marts, "
    "audit, publish.",
    tags=WRITER_TAG,
    executor_def=dg.in_process_executor,  # one writer at a time inside a run, too
)


@dataclass(frozen=True)
class NightlyRequest:
    selection: list[dg.AssetKey] | None  # None: the whole job
    tags: dict[str, str]
    nothing_new_since: dict | None


def nightly_request(current: State, published: dict | None, trigger: str) -> NightlyRequest:
    """What tonight's run selects: everything, or (nothing new since ``published``) the state record only.

    There are no partitions: ingestion compares every landing file's hash with the ledger, so
    a full run is already incremental, and months that arrive late, out of order or are
    withdrawn need no range of partition keys to be right.
    """
    tags = {"pfpw/trigger": trigger, "pfpw/state": current.digest[:16]}
    if published:
        tags["pfpw/nothing_new_since"] = published["run_id"]
        return NightlyRequest([STATE_KEY], tags, published)
    return NightlyRequest(None, tags, None)
