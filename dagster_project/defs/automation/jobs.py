"""The job, and what one night asks of it: everything, only what changed, or only the record that nothing is new."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from dagster_project.defs.executor import pfpw_executor
from dagster_project.defs.ingestion.keys import (
    DELIVERY_KEY,
    EXTRACT_KEYS_BY_AGENCY,
    INVENTORY_KEY,
    LEDGER_KEY,
    QUARANTINE_KEY,
    REFERENCE_KEYS,
    REPORT_KEY,
    SERVING_KEY,
    STATE_KEY,
    TARGETS_KEY,
)
from dagster_project.defs.ingestion.state import REBUILD_TAG
from dagster_project.schemas.targets import TARGETS_PART
from dagster_project.state import State

WRITER_TAG = {"pfpw/warehouse-writer": "true"}  # limited to one run at a time by the instance (dagster.yaml)
JOB_NAME = "pfpw_nightly"

JOB_DESCRIPTION = (
    "Everything but the report: ingest the landing zone (unchanged files are not read again), build the marts, "
    "audit, publish."
)
REPORT_JOB_NAME = "pfpw_report"
REPORT_JOB_DESCRIPTION = (
    "The survey report from the served database, after a night that published (pfpw run, or the "
    "report_after_publication sensor): off the night's critical path; a page of the same publication and code is kept."
)

pfpw_nightly = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(REPORT_KEY),
    description=JOB_DESCRIPTION,
    tags=WRITER_TAG,
    executor_def=pfpw_executor,
)
# a reader of serving.duckdb, as BI is: not a writer of the warehouse, so not queued behind a night
pfpw_report = dg.define_asset_job(
    name=REPORT_JOB_NAME,
    selection=dg.AssetSelection.assets(REPORT_KEY),
    description=REPORT_JOB_DESCRIPTION,
    executor_def=dg.in_process_executor,
)


@dataclass(frozen=True)
class NightlyRequest:
    selection: list[dg.AssetKey] | None  # None: the whole job
    tags: dict[str, str]
    nothing_new_since: dict | None
    changes: frozenset[str] | None = None  # the landing-zone parts an incremental night rebuilds from


def nightly_request(
    current: State,
    published: dict | None,
    trigger: str,
    changes: set[str] | None = None,
    graph: dg.Definitions | Iterable[dg.AssetsDefinition] | None = None,
) -> NightlyRequest:
    """What tonight's run selects.

    - nothing new since ``published``: the state record only;
    - ``changes`` (the landing-zone parts changed since a publication the warehouse still holds
      exactly, see ``state.changes_since_publication``) and the asset ``graph``: only the
      agencies that changed, and the dbt models, audits and publication downstream of what they
      feed (:func:`incremental_selection`);
    - otherwise the whole job.

    There are no partitions: ingestion compares every landing file's hash with the ledger, so
    months that arrive late, out of order or are withdrawn need no range of partition keys.
    """
    tags = {"pfpw/trigger": trigger, "pfpw/state": current.digest[:16]}
    if published:
        tags["pfpw/nothing_new_since"] = published["run_id"]
        return NightlyRequest([STATE_KEY], tags, published)
    if changes is not None and graph is not None:
        tags[REBUILD_TAG] = ",".join(sorted(changes)) or "nothing"
        return NightlyRequest(incremental_selection(changes, graph), tags, None, frozenset(changes))
    return NightlyRequest(None, tags, None)


def asset_graph_of(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext):
    """The asset graph a schedule or sensor evaluates in (None when built without a repository)."""
    try:
        return context.repository_def.asset_graph if context.repository_def else None
    except dg.DagsterInvariantViolationError:
        return None


def incremental_selection(
    changes: set[str], graph: dg.Definitions | Iterable[dg.AssetsDefinition]
) -> list[dg.AssetKey]:
    """The assets a night rebuilds when only ``changes`` (agency folders, ``targets``, ``folders``, ``other``,
    ``calendar``) changed.

    Always the state record, the reference copy, the inventory, the ledger and quarantine and the
    publication (the report is its own job, after it); the ingestion of each changed agency; and everything downstream of
    the lake tables those can change: an agency's extracts, the ledger and quarantine (any delivered
    file), the month-folder inventory (``folders``). The rest of the working database is exactly what
    the last publication built from the same inputs, so it is left as it is.
    """
    agencies = sorted(changes & set(EXTRACT_KEYS_BY_AGENCY))
    always = [
        STATE_KEY,
        *REFERENCE_KEYS.values(),
        INVENTORY_KEY,
        LEDGER_KEY,
        QUARANTINE_KEY,
        DELIVERY_KEY,
        SERVING_KEY,
    ]
    ingest = [k for a in agencies for k in EXTRACT_KEYS_BY_AGENCY[a]]
    if TARGETS_PART in changes:  # reference/targets.csv: read again, and what dbt builds from it
        ingest.append(TARGETS_KEY)
    # the delivery statuses change with any delivery and with the calendar (a due date passed)
    fed = {*ingest, DELIVERY_KEY}
    if ingest or "other" in changes:
        fed |= {LEDGER_KEY, QUARANTINE_KEY}
    if "folders" in changes:
        fed.add(INVENTORY_KEY)
    selection = dg.AssetSelection.assets(*always, *ingest)
    if fed:
        selection |= dg.AssetSelection.assets(*fed).downstream()
    selection -= dg.AssetSelection.assets(REPORT_KEY)  # downstream of the publication, in its own job
    graph = graph.resolve_asset_graph() if isinstance(graph, dg.Definitions) else graph
    return sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
