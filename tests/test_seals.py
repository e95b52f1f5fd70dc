"""A night reads what changed: the landing files' digests kept between runs (digests.py) and the months
whose ledger is sealed in line with their folder (ingest/seals.py).

Each test runs real ingestions (no Dagster) on a small landing zone and checks both what was read and
that the lake equals a fresh ingestion of the same landing zone, row for row.
"""

import os
import shutil
import time

import pytest

from dagster_project import digests, landing, state
from dagster_project.ingest import seals
from dagster_project.lake import Lake
from tests.conftest import ingest_all
from tests.nightly import small_zone
from tests.test_executors import _lake

M = "2012-03"


@pytest.fixture
def zone(tmp_path):
    return small_zone(tmp_path / "sources", townships=2)


@pytest.fixture
def fresh(monkeypatch):
    """Files written by the test count as old enough to be kept (the racy window is tested on its own)."""
    monkeypatch.setattr(digests, "RACY_NS", -(10**12))


@pytest.fixture
def ledger_reads(monkeypatch):
    """The (extract, month) pairs whose ledger ingestion reads, by every Ingestor."""
    read: list[tuple[str, str]] = []
    original = Lake.ledger_months

    def counting(self, wanted):
        read.extend((e, m) for e, m, _s in wanted)
        return original(self, wanted)

    monkeypatch.setattr(Lake, "ledger_months", counting)
    return read


def _files(zone):
    return sorted(p for p in zone.rglob("*") if p.is_file())


def test_a_landing_file_is_read_again_only_when_it_changed(zone, tmp_path, fresh):
    wh = tmp_path / "wh"
    first = state.landing_parts(zone, wh)
    kept = digests.for_warehouse(zone, wh)
    assert kept.hashed == len(_files(zone)) and (wh / "state" / digests.STORE).exists()

    # another process (a new object) reads nothing again, and the parts are those of a full read
    again = digests.LandingDigests(zone, wh / "state" / digests.STORE)
    for p in _files(zone):
        rel = p.relative_to(zone).as_posix()
        assert again.sha256(p, rel) == landing.sha256(p)
    assert again.hashed == 0
    assert state.landing_parts(zone) == first  # nothing kept: every file read, the same digests

    # a file rewritten with other bytes of the same size, its modification time set back: its change
    # time still moved, so it is read again
    book = sorted((zone / "township" / M).glob("*.xlsx"))[0]
    st = book.stat()
    data = bytearray(book.read_bytes())
    data[-1] ^= 0xFF
    book.write_bytes(bytes(data))
    os.utime(book, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert book.stat().st_size == st.st_size and book.stat().st_mtime_ns == st.st_mtime_ns
    parts, _n = state.landing_parts(zone, wh)
    assert digests.for_warehouse(zone, wh).hashed == len(_files(zone)) + 1
    assert parts["township"] != first[0]["township"]
    assert parts == state.landing_parts(zone)[0]

    # a file swapped for a link is refused as before, never answered from the store
    target = tmp_path / "elsewhere.xlsx"
    shutil.copy(book, target)
    rel = f"township/{M}/{book.name}"
    book.unlink()
    book.symlink_to(target)
    with pytest.raises(landing.NotADelivery):
        digests.for_warehouse(zone, wh).sha256(book, rel)

    # a withdrawn file leaves the store at the next look at the whole landing zone
    book.unlink()
    state.landing_parts(zone, wh)
    assert rel not in digests.LandingDigests(zone, wh / "state" / digests.STORE).entries

    # another landing zone does not use this one's store
    other = digests.LandingDigests(tmp_path / "other", wh / "state" / digests.STORE)
    assert other.entries == {}


def test_a_file_changed_just_before_it_was_hashed_is_not_kept(zone, tmp_path):
    store = tmp_path / "store.json"
    book = sorted((zone / "township" / M).glob("*.xlsx"))[0]
    rel = f"township/{M}/{book.name}"
    book.touch()  # changed now: a second write in the same clock tick could keep its times
    kept = digests.LandingDigests(zone, store)
    kept.sha256(book, rel)
    assert rel not in kept.entries
    kept.sha256(book, rel)
    assert kept.hashed == 2
    old = time.time_ns() - 10 * digests.RACY_NS
    os.utime(book, ns=(old, old))  # the change time is still now: not kept either
    kept.sha256(book, rel)
    assert rel not in kept.entries


def test_a_quiet_night_reads_no_ledger_and_a_corrected_month_only_its_own(
    zone, tmp_path, fresh, ledger_reads
):
    wh = tmp_path / "wh"
    first = ingest_all(zone, wh)
    sealed = seals.load(Lake(wh))
    months = {p.name for a in ("township", "hospital", "court", "finance") for p in (zone / a).iterdir()}
    assert {k.split("/")[1] for k in sealed} == months and len(sealed) == 4 * len(months)

    ledger_reads.clear()
    quiet = ingest_all(zone, wh)
    assert ledger_reads == []  # every month sealed: no ledger read, nothing compared
    assert (quiet.files_seen, quiet.files_unchanged, quiet.files_ingested) == (
        first.files_seen,
        first.files_seen,
        0,
    )

    # the township re-delivers one workbook of March with other contents (its February workbook)
    book = sorted((zone / "township" / M).glob("*.xlsx"))[0]
    shutil.copy(zone / "township" / "2012-02" / book.name, book)
    ledger_reads.clear()
    report = ingest_all(zone, wh)
    assert report.files_ingested == 1
    assert {m for _e, m in ledger_reads} == {M}  # the changed month's ledger only (withdrawals, then files)
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh1"))

    # a withdrawn month folder: its month is read, its files leave the lake
    shutil.rmtree(zone / "hospital" / "2012-02")
    ledger_reads.clear()
    report = ingest_all(zone, wh)
    assert report.files_removed > 0 and {m for _e, m in ledger_reads} == {"2012-02"}
    assert _lake(wh) == _lake(_fresh(zone, tmp_path / "fresh2"))

    ledger_reads.clear()
    ingest_all(zone, wh)
    assert ledger_reads == []


def test_a_seal_never_hides_a_lost_lake_or_ledger_file_or_another_key(zone, tmp_path, fresh, ledger_reads):
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    fresh_lake = _lake(_fresh(zone, tmp_path / "fresh"))

    # a lake segment lost by hand: its month is read, its files ingested again
    segment = sorted((wh / "lake" / "township_births" / f"month={M}").glob("*.parquet"))[0]
    segment.unlink()
    ledger_reads.clear()
    report = ingest_all(zone, wh)
    assert report.files_ingested > 0 and {m for _e, m in ledger_reads} == {M}
    assert _lake(wh) == fresh_lake

    # a ledger segment lost by hand: its files are ingested again, the ledger mended
    (wh / "ledger" / "hospital_births" / f"month={M}").joinpath(
        sorted(p.name for p in (wh / "ledger" / "hospital_births" / f"month={M}").glob("*.parquet"))[0]
    ).unlink()
    report = ingest_all(zone, wh)
    assert report.files_ingested > 0
    assert _lake(wh) == fresh_lake

    # a ledger segment rewritten in place (the same name and bytes, another modification time): its
    # month is read again, as a ledger file is no longer the one sealed
    ledger = sorted((wh / "ledger" / "court_enforcement_cases").glob("month=*/*.parquet"))[0]
    ledger.write_bytes(ledger.read_bytes())
    ledger_reads.clear()
    ingest_all(zone, wh)
    assert {m for _e, m in ledger_reads} == {ledger.parent.name.removeprefix("month=")}
    assert _lake(wh) == fresh_lake

    # another PII key: no month holds, every file is pseudonymised again
    ledger_reads.clear()
    report = ingest_all(zone, wh, key=b"another-test-key-of-32-bytes-ok!")
    assert report.files_rekeyed > 0 and report.files_rekeyed == report.files_seen - report.files_unchanged
    assert {m for _e, m in ledger_reads} >= {M, "2012-02"}


def _fresh(zone, wh):
    ingest_all(zone, wh)
    return wh
