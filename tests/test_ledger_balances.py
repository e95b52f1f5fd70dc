"""The ledger balance check (a blocking asset check on every extract) against a lake that disagrees.

For every file: rows read = loaded + quarantined, and the lake's Parquet holds exactly the rows the
ledger says. A segment that lost a row, or gained one, is named. On an incremental night the check
reads only the months the night rewrote (the lake's change record of the run): a disagreement in a
rewritten month is found, and the check no longer rescans the whole history.
"""

import polars as pl

from dagster_project.defs.ingestion.ledger import ledger_balance_problems
from dagster_project.defs.resources import PfpwPaths
from dagster_project.ingest.run import ingest_landing_zone
from dagster_project.lake import Lake
from tests.conftest import TEST_KEY
from tests.nightly import small_zone

EXTRACT = "hospital_births"


def test_the_ledger_balance_check_names_a_segment_that_disagrees(tmp_path):
    zone = small_zone(tmp_path / "sources", townships=3)
    wh = tmp_path / "wh"
    ingest_landing_zone(zone, Lake(wh), TEST_KEY, run_id="night-1", workers=1)
    paths = PfpwPaths(sources_dir=str(zone), warehouse_dir=str(wh))
    months = sorted(Lake(wh).months(EXTRACT))
    assert len(months) == 24
    assert ledger_balance_problems(paths, EXTRACT) == []
    assert ledger_balance_problems(paths, EXTRACT, months[:3]) == []
    assert ledger_balance_problems(paths, EXTRACT, []) == []

    # a row lost from one segment of 2012-05 (as a hand or a broken disk might)
    segment = sorted((wh / "lake" / EXTRACT / "month=2012-05").glob("*.parquet"))[0]
    frame = pl.read_parquet(segment)
    lost = frame["source_file"][0]
    frame.slice(1).write_parquet(segment)

    everything = ledger_balance_problems(paths, EXTRACT)
    assert len(everything) == 1 and everything[0].startswith(f"{lost}: read ")
    assert "Parquet holds" in everything[0]
    # an incremental night that rewrote 2012-05 finds it; one that rewrote only other months reads only those
    assert ledger_balance_problems(paths, EXTRACT, ["2012-04", "2012-05"]) == everything
    assert ledger_balance_problems(paths, EXTRACT, ["2012-04", "2012-06"]) == []

    # rows of a file the ledger does not know
    stray = frame.head(1).with_columns(pl.lit("hospital/2012-05/stray.csv").alias("source_file"))
    pl.concat([frame, stray]).write_parquet(segment)
    problems = ledger_balance_problems(paths, EXTRACT, ["2012-05"])
    assert any(p.startswith("hospital/2012-05/stray.csv: read None") for p in problems)
