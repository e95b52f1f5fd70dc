"""Named points where a test can make `pfpw run` stop and wait to be killed (PFPW_FAILPOINT=name).

A no-op unless the variable names the point; used by the kill tests to SIGKILL the
pipeline at a known stage (during ingestion, dbt and publication).
"""

import time
from pathlib import Path

from dagster_project import settings


def failpoint(name: str) -> None:
    point = settings.current()
    if point.failpoint != name:
        return
    if point.failpoint_marker:
        Path(point.failpoint_marker).write_text(name)
    time.sleep(point.failpoint_sleep)
