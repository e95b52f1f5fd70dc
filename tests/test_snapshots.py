"""The ledger's and the quarantine's snapshots read again only from the segment files that changed
(ingest/snapshots.py): real ingestions of a small landing zone, each night's snapshots compared with a full
read of every segment file (row for row, in order), and the files read counted."""

import json
import shutil

import polars as pl
import pytest

from dagster_project.ingest import snapshots
from dagster_project.lake import Lake
from tests.conftest import ingest_all
from tests.nightly import small_zone

M = "2012-03"


@pytest.fixture
def zone(tmp_path):
    """Two townships' zone, with a decision of an impossible date in finance's February and March (quarantined)."""
    out = small_zone(tmp_path / "sources", townships=2)
    for month in ("2012-02", M):
        with (out / "finance" / month / "fee_decisions.csv").open("a", encoding="utf-8") as f:
            f.write(
                "台黄计征〔2012〕9999号,范玲,331003199109020388,331003007,331003007-2011-0155,2012-13-45,1.00,1.00\n"
            )
    return out


@pytest.fixture
def files_read(monkeypatch):
    """The segment files each night reads, by area (ledger, quarantine)."""
    read: dict[str, list[str]] = {"ledger": [], "quarantine": []}
    original = snapshots._read_files

    def counting(folder, rels):
        read[folder.name].extend(rels)
        return original(folder, rels)

    monkeypatch.setattr(snapshots, "_read_files", counting)
    return read


def _assert_snapshots_are_a_full_read(wh):
    lake = Lake(wh)
    ledger, quarantine = (
        pl.read_parquet(lake.ledger_snapshot_path),
        pl.read_parquet(lake.quarantine_snapshot_path),
    )
    assert ledger.equals(lake.ledger())  # Lake.ledger(): every ledger file read, sorted
    assert quarantine.equals(lake.quarantine())  # every quarantine file, in path order, rows in file order
    return ledger, quarantine


def test_a_night_reads_only_the_segments_that_changed(zone, tmp_path, files_read):
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    ledger, quarantine = _assert_snapshots_are_a_full_read(wh)
    segments = {a: len(list((wh / a).rglob("*.parquet"))) for a in ("ledger", "quarantine")}
    assert len(files_read["ledger"]) == segments["ledger"] and quarantine.height > 0
    assert len(files_read["quarantine"]) == segments["quarantine"]

    # nothing new: only the files every ingestion writes again (the ignored files' ledger) are read
    for rels in files_read.values():
        rels.clear()
    ingest_all(zone, wh)
    assert _assert_snapshots_are_a_full_read(wh)[0].equals(ledger)
    assert len(files_read["ledger"]) <= 2 and len(files_read["quarantine"]) <= 1

    # a township re-delivers one workbook of March with other contents: its month's segments only
    book = sorted((zone / "township" / M).glob("*.xlsx"))[0]
    shutil.copy(zone / "township" / "2012-02" / book.name, book)
    for rels in files_read.values():
        rels.clear()
    ingest_all(zone, wh)
    changed = {r.split("/")[1] for r in files_read["ledger"] if r.count("/") == 2}
    assert changed == {f"month={M}"} and len(files_read["ledger"]) < segments["ledger"] / 10
    after, _q = _assert_snapshots_are_a_full_read(wh)
    assert not after.equals(ledger)

    # a withdrawn month: its rows leave both snapshots, nothing else is read
    shutil.rmtree(zone / "hospital" / "2012-02")
    for rels in files_read.values():
        rels.clear()
    ingest_all(zone, wh)
    ledger, quarantine = _assert_snapshots_are_a_full_read(wh)
    assert not ledger.filter(pl.col("source_file").str.starts_with("hospital/2012-02/")).height
    assert len(files_read["ledger"]) < segments["ledger"] / 10


@pytest.mark.parametrize("damage", ["rows file replaced", "store of another version", "store unreadable"])
def test_a_store_that_cannot_be_trusted_costs_a_full_read_never_a_wrong_row(
    zone, tmp_path, files_read, damage
):
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    rows, meta = wh / "state" / "ledger_rows.parquet", wh / "state" / "ledger_rows.json"
    if damage == "rows file replaced":
        # other rows under the kept name (a half-written or foreign file): not the file the JSON names
        pl.read_parquet(rows).head(3).write_parquet(rows)
    elif damage == "store of another version":
        payload = json.loads(meta.read_text())
        meta.write_text(json.dumps({**payload, "version": -1}))
    else:
        meta.write_text("{not json")
    # a withdrawn month, so that the night has something to take out of the rows it keeps
    shutil.rmtree(zone / "finance" / M)
    files_read["ledger"].clear()
    ingest_all(zone, wh)
    assert len(files_read["ledger"]) == len(list((wh / "ledger").rglob("*.parquet")))  # all of them
    _assert_snapshots_are_a_full_read(wh)
