"""Running the whole pipeline as one Dagster run recorded in the instance, and summarising it.

Used by ``pfpw run`` and the tests; holds no pipeline logic of its own, only how
to launch the job over every reporting month and what to print afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from dagster_project.ingest.run import landing_months
from dagster_project.lake import Lake
from dagster_project.partitions import reporting_month

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class Outcome:
    success: bool
    run_id: str
    months: list[str]
    ledger: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"pfpw run {self.run_id}: {'SUCCESS' if self.success else 'FAILED'}",
            f"  months: {self.months[0]} .. {self.months[-1]} ({len(self.months)})"
            if self.months
            else "  months: none",
            "  files: {files} ({loaded} loaded, {rejected} rejected, {ignored} ignored)".format(**self.ledger)
            if self.ledger
            else "  files: none",
            "  rows: {rows_read} read, {rows_loaded} loaded, {rows_quarantined} quarantined".format(
                **self.ledger
            )
            if self.ledger
            else "",
        ]
        for f, reason in self.rejected:
            lines.append(f"  REJECTED {f}: {reason}")
        for f, reason in self.ignored:
            lines.append(f"  ignored  {f}: {reason}")
        lines.append(f"  checks: {self.checks_passed} passed, {len(self.checks_failed)} failed")
        for c in self.checks_failed:
            lines.append(f"  FAILED CHECK {c}")
        for s in self.failed_steps:
            lines.append(f"  FAILED STEP {s}")
        lines.extend(self.extra)
        return "\n".join(line for line in lines if line)


def run_pipeline(
    sources: Path, warehouse: Path, instance: dg.DagsterInstance | None = None, job_name: str = "pfpw_nightly"
) -> Outcome:
    """Run ``job_name`` over every reporting month in the landing zone, in one run."""
    from dagster_project.definitions import defs

    instance = instance or dg.DagsterInstance.get()
    months = landing_months(sources)
    known = set(instance.get_dynamic_partitions(reporting_month.name))
    new = [m for m in months if m not in known]
    if new:
        instance.add_dynamic_partitions(reporting_month.name, new)
    job = defs.resolve_job_def(job_name)
    tags = {RANGE_START: months[0], RANGE_END: months[-1]} if months else {}
    if not months:  # nothing monthly has landed: run what is not partitioned
        job = job.get_subset(asset_selection=_unpartitioned_keys(defs))
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    return summarise(result, months, Lake(warehouse))


def _unpartitioned_keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return {
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).partitions_def is None and graph.get(k).is_materializable
    }


def summarise(result: dg.ExecuteInProcessResult, months: list[str], lake: Lake) -> Outcome:
    out = Outcome(success=result.success, run_id=result.run_id, months=months)
    ledger = lake.ledger()
    if ledger.height:
        data = ledger.filter(ledger["status"] != "ignored")
        files = data.unique("source_file")
        out.ledger = {
            "files": files.height + ledger.filter(ledger["status"] == "ignored").height,
            "loaded": files.height - data.filter(data["status"] == "rejected").unique("source_file").height,
            "rejected": data.filter(data["status"] == "rejected").unique("source_file").height,
            "ignored": ledger.filter(ledger["status"] == "ignored").height,
            "rows_read": int(data["rows_read"].sum()),
            "rows_loaded": int(data["rows_loaded"].sum()),
            "rows_quarantined": int(data["rows_quarantined"].sum()),
        }
        rej = data.filter(data["status"] == "rejected").unique(["source_file", "reason"]).sort("source_file")
        out.rejected = list(zip(rej["source_file"].to_list(), rej["reason"].to_list(), strict=True))
        ign = ledger.filter(ledger["status"] == "ignored")
        out.ignored = list(zip(ign["source_file"].to_list(), ign["reason"].to_list(), strict=True))
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"
            if ev.passed:
                out.checks_passed += 1
            else:
                out.checks_failed.append(name)
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            err = event.event_specific_data.error
            msg = err.message.strip().splitlines()[0] if err else ""
            out.failed_steps.append(f"{event.step_key}: {msg}")
    out.success = out.success and not out.checks_failed
    return out
