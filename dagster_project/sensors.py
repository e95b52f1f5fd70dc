"""New or corrected extract files: ingest just the affected reporting months, then everything downstream.

The cursor keeps a fingerprint (names, sizes, modification times) per agency month folder;
a changed folder requests one run for that month's partition, selecting the changed
agency's ingestion asset and every asset downstream of it (marts, audits, publication).
Content hashes stay the ingestion's business: a touched but unchanged file is re-read,
found unchanged in the ledger, and skipped.
"""

import hashlib
import json

import dagster as dg

from dagster_project.ingest.run import landing_months
from dagster_project.jobs import pfpw_nightly
from dagster_project.partitions import reporting_month
from dagster_project.resources import PfpwPaths
from dagster_project.schemas.contract import AGENCIES


def folder_fingerprints(paths: PfpwPaths) -> dict[str, str]:
    out = {}
    for agency in AGENCIES:
        for month in landing_months(paths.sources, (agency,)):
            folder = paths.sources / agency / month
            h = hashlib.sha256()
            for p in sorted(folder.iterdir()):
                if p.is_file():
                    st = p.stat()
                    h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            out[f"{agency}/{month}"] = h.hexdigest()[:16]
    return out


def agency_asset_keys(agency: str) -> list[dg.AssetKey]:
    from dagster_project.ingest.run import specs_of

    return [dg.AssetKey(["lake", s.name]) for s in specs_of(agency)]


@dg.sensor(
    job=pfpw_nightly,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the affected month partitions when extract files land or are corrected.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, paths: PfpwPaths):
    before = json.loads(context.cursor) if context.cursor else {}
    now = folder_fingerprints(paths)
    changed: dict[str, set[str]] = {}
    for folder, digest in now.items():
        if before.get(folder) != digest:
            agency, month = folder.split("/")
            changed.setdefault(month, set()).add(agency)
    if not changed:
        return dg.SensorResult(skip_reason="no new or changed extract files", cursor=json.dumps(now))
    known = set(context.instance.get_dynamic_partitions(reporting_month.name))
    new_months = sorted(m for m in changed if m not in known)
    from dagster_project.definitions import defs  # the graph, for "everything downstream"

    graph = defs.resolve_asset_graph()
    requests = []
    for month in sorted(changed):
        roots = [k for agency in sorted(changed[month]) for k in agency_asset_keys(agency)]
        selection = dg.AssetSelection.assets(*roots).downstream()
        keys = selection.resolve(graph)
        requests.append(
            dg.RunRequest(
                run_key=f"{month}:{'+'.join(sorted(changed[month]))}:{'-'.join(now[f'{a}/{month}'] for a in sorted(changed[month]))}",
                partition_key=month,
                asset_selection=sorted(keys, key=lambda k: k.to_user_string()),
                tags={"pfpw/changed": ",".join(sorted(changed[month]))},
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(now),
        dynamic_partitions_requests=[reporting_month.build_add_request(new_months)] if new_months else [],
    )
