"""One writer per warehouse: an exclusive flock on <warehouse>/.writer.lock, re-entrant within a process.

`pfpw run` holds it for the whole run, and every asset that writes (ingestion, dbt,
publication) takes it too, so a run launched from the UI and a `pfpw run` never write the
same warehouse at once: the second waits for the first. Readers never take it.
"""

import fcntl
import logging
import threading
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
_held: dict[Path, list] = {}  # path -> [fd, depth]
_guard = threading.Lock()


@contextmanager
def writer_lock(warehouse: Path):
    path = (warehouse / ".writer.lock").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _guard:
        entry = _held.get(path)
        if entry:
            entry[1] += 1
    if not entry:
        f = path.open("a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another pfpw run is writing %s: waiting for it to finish", warehouse)
            fcntl.flock(f, fcntl.LOCK_EX)
        with _guard:
            _held[path] = [f, 1]
    try:
        yield
    finally:
        with _guard:
            entry = _held[path]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[path]
                fcntl.flock(entry[0], fcntl.LOCK_UN)
                entry[0].close()
