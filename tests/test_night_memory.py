"""A night lets go of what it read (issue 27: a night's memory follows the month, not the history).

`pfpw run` runs every step of a night in one process, then the report's run in the same process; the daemon and
the tests run many nights in one. What a step keeps alive after it is carried by every step after it: the
publication, the night's peak, held every landing file's digest (18 MB at 10 districts × 10 years, some 150 MB at
a province) and every mart the GX audits had validated (GX's execution engine caches each batch's DataFrame;
33 MB at 10 × 10), both growing with the years held. Here a real night runs in this process; afterwards neither
is left.
"""

import gc
import weakref

from dagster_project import digests
from dagster_project.defs.audits import checks
from tests.conftest import TEST_KEY
from tests.nightly import run, small_zone


def test_a_night_keeps_neither_the_landing_digests_nor_the_audited_marts(tmp_path, instance, monkeypatch):
    zone = small_zone(tmp_path / "sources", townships=2)
    frames: list[weakref.ref] = []
    read_mart = checks.read_mart

    def recorded_mart(con, name):
        df = read_mart(con, name)
        frames.append(weakref.ref(df))
        return df

    monkeypatch.setattr(checks, "read_mart", recorded_mart)

    warehouse = tmp_path / "warehouse"
    outcome = run(zone, warehouse, instance, TEST_KEY.decode())

    assert outcome.success and outcome.published
    # the night's state and ingestion looked at the landing files through the digests this process keeps
    assert (warehouse / "state" / digests.STORE).exists()
    assert len(frames) >= 17, "the GX audits read every mart"
    gc.collect()
    assert digests._OPEN == {}, "the landing files' digests outlived the night's ingestion"
    alive = [ref() for ref in frames if ref() is not None]
    assert not alive, (
        f"{len(alive)} audited mart(s) still in memory after the night: {[df.shape for df in alive]}"
    )
