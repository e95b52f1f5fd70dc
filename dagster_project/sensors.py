"""The landing-zone sensor: a run as soon as anything in the landing zone changed.

Every minute it takes a cheap fingerprint of the landing zone (per top-level folder: file
names, sizes and modification times), so new, corrected and withdrawn files, new folders and
changed reference tables are all noticed. Only when that fingerprint moved does it hash the
files' content: a touched but unchanged landing zone whose content equals the last
publication's requests nothing. Otherwise it requests the whole nightly job (ingestion is
incremental by content hash, so unchanged files are not read again), keyed by the content
state so that one state is never run twice.
"""

from __future__ import annotations

import json

import dagster as dg

from dagster_project import settings, state
from dagster_project.jobs import pfpw_nightly
from dagster_project.resources import PfpwPaths


@dg.sensor(
    job=pfpw_nightly,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the pipeline when extract files land, are corrected or withdrawn, or reference/ changes.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, paths: PfpwPaths):
    before = json.loads(context.cursor) if context.cursor else {}
    now = state.stat_fingerprint(paths.sources)
    changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
    cursor = json.dumps(now, sort_keys=True)
    if not changed:
        return dg.SensorResult(skip_reason="no new, corrected or withdrawn files", cursor=cursor)
    current = state.current_state(paths.sources, settings.pii_key())
    pub = state.nothing_new(paths.warehouse, current)
    if pub:
        return dg.SensorResult(
            skip_reason=f"files touched, content unchanged since publication {pub['run_id']}", cursor=cursor
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=current.digest,
                tags={"pfpw/trigger": "sensor", "pfpw/changed": ",".join(changed)[:200]},
            )
        ],
        cursor=cursor,
    )
