"""Named points where a test can make `pfpw run` stop and wait to be killed (PFPW_FAILPOINT=name).

A no-op unless the variable names the point; used by the kill tests to SIGKILL the
pipeline at a known stage (during ingestion, dbt and publication).
"""

import os
import time
from pathlib import Path


def failpoint(name: str) -> None:
    if os.environ.get("PFPW_FAILPOINT") != name:
        return
    marker = os.environ.get("PFPW_FAILPOINT_MARKER")
    if marker:
        Path(marker).write_text(name)
    time.sleep(float(os.environ.get("PFPW_FAILPOINT_SLEEP", "600")))
