"""Ingestion cut into work units (per district, or district and month) that Dagster's executors run side by side.

The units of an agency write disjoint lake files, so the order and grouping they run in cannot
change the lake: a test here ingests a landing zone unit by unit, in reverse order, and compares
it with one pass. The whole pipeline on the multiprocess executor is compared with in-process in
tests/test_two_districts.py (a landing zone of two districts: one unit each).
"""

from pathlib import Path

import duckdb

from dagster_project.ingest.run import (
    Ingestor,
    fanout_for,
    ingest_unit,
    plan_units,
    specs_of,
    write_inventory,
    write_reference,
)
from dagster_project.lake import Lake
from dagster_project.reference import load_reference
from dagster_project.schemas.contract import AGENCIES, EXTRACTS
from tests.conftest import SAMPLE, TEST_KEY, ingest_all
from tests.nightly import small_zone


def test_the_sample_has_one_unit_per_agency_and_district_or_per_month():
    ref = load_reference(SAMPLE)
    by_district = {a: plan_units(SAMPLE, a, ref) for a in AGENCIES}
    assert {a: [u.key for u in units] for a, units in by_district.items()} == {
        "township": ["331003"],
        "hospital": ["331003"],
        "court": ["all"],
        "finance": ["all"],
    }
    assert all(len(u.months) == 24 for units in by_district.values() for u in units)
    monthly = plan_units(SAMPLE, "township", ref, "district-month")
    assert len(monthly) == 24 and monthly[0].key == "331003_2011_01" and monthly[0].months == ("2011-01",)


def _lake(warehouse: Path) -> dict[str, list[tuple]]:
    """Every extract's loaded and quarantined rows and ledger (without run and time), sorted."""
    con = duckdb.connect()
    out = {}
    opts = "union_by_name=true, hive_partitioning=false"
    for spec in EXTRACTS:
        for area, drop in (("lake", ""), ("quarantine", ""), ("ledger", " exclude (run_id, ingested_at)")):
            glob = Lake(warehouse).glob(area, spec.name)
            rows = con.sql(f"select *{drop} from read_parquet('{glob}', {opts})").fetchall()
            out[f"{area}/{spec.name}"] = sorted(rows, key=repr)
    return out


def test_units_in_any_order_and_grouping_give_the_lake_of_one_pass(tmp_path):
    zone = small_zone(tmp_path / "sources", townships=3)
    ingest_all(zone, tmp_path / "one_pass")

    lake = Lake(tmp_path / "units")
    lake.ensure_layout()
    ref = load_reference(zone)
    write_reference(lake, ref)
    write_inventory(zone, lake, "manual")
    ingestor = Ingestor(zone, lake, ref, TEST_KEY)
    seen = 0
    for agency in AGENCIES:
        units = plan_units(zone, agency, ref, "district-month")
        assert len(units) == 24
        for unit in reversed(units):
            seen += ingest_unit(ingestor, unit).files_seen
    lake.consolidate()
    assert seen == sum(1 for p in zone.rglob("*") if p.is_file() and p.parent.parent != zone)

    one, units = _lake(tmp_path / "one_pass"), _lake(tmp_path / "units")
    assert sum(len(v) for k, v in one.items() if k.startswith("lake/")) > 20_000
    assert one == units


def test_a_withdrawn_file_leaves_the_lake_when_planned(tmp_path):
    """Withdrawals are the plan step's (before the units run): a unit never deletes another unit's files."""
    zone = small_zone(tmp_path / "sources", townships=2)
    wh = tmp_path / "wh"
    ingest_all(zone, wh)
    gone = sorted((zone / "township" / "2012-03").glob("*.xlsx"))[0]
    gone.unlink()
    lake = Lake(wh)
    ref = load_reference(zone)
    ingestor = Ingestor(zone, lake, ref, TEST_KEY)
    for unit in plan_units(zone, "township", ref):
        assert ingest_unit(ingestor, unit).files_removed == 0
    assert lake.ledger_entry("township_births", "2012-03", gone.stem) is not None
    from dagster_project.ingest.run import MonthReport

    report = MonthReport()
    ingestor.withdraw(specs_of("township"), "2012-03", report)
    assert report.files_removed == 3  # births, population, village classes of that workbook
    assert lake.ledger_entry("township_births", "2012-03", gone.stem) is None


def test_parallel_ingestion_equals_one_worker(tmp_path):
    """Changed files read, validated and written by a pool of processes, in chunks of whole (month,
    segment) groups: the lake, quarantine and ledger of one worker."""
    zone = small_zone(tmp_path / "sources", townships=3)
    lakes = {}
    for workers in (1, 2):
        lake = Lake(tmp_path / f"w{workers}")
        lake.ensure_layout()
        ref = load_reference(zone)
        ingestor = Ingestor(zone, lake, ref, TEST_KEY, workers=workers, parallel_min_files=1)
        for agency in AGENCIES:
            months = sorted({p.parent.name for p in (zone / agency).glob("*/*")})
            ingestor.ingest(specs_of(agency), months)
        lake.consolidate()
        # every agency's files went through the pool, in at least a chunk per worker
        if workers == 1:
            assert ingestor.pooled_chunks == 0
        else:
            assert ingestor.pooled_chunks >= 2 * len(AGENCIES)
        lakes[workers] = _lake(lake.root)
    assert sum(len(v) for k, v in lakes[1].items() if k.startswith("lake/")) > 20_000
    assert lakes[1] == lakes[2]


def test_a_run_lists_each_month_folder_once_for_all_its_units(tmp_path, instance, monkeypatch):
    """A province's month folder holds every district's files, and with the district fan-out each district is
    a unit: the run's plan step and units share one listing of each folder, not one per unit (at 90
    districts that was most of a night's ingestion). The lake is one pass's. The next run, in-process with
    the default fan-out (``auto``), has one unit per agency, lists the folders afresh (a withdrawn file
    leaves the lake) and leaves the lake of one pass again."""
    import collections
    import os
    import shutil
    import sys

    import dagster as dg

    from dagster_project.cli import main
    from dagster_project.defs.ingestion.assets import AGENCY_ASSETS, reference_tables
    from dagster_project.defs.resources import PfpwPaths

    zone = tmp_path / "sources"
    assert main(["generate", "--out", str(zone), "--districts", "2", "--years", "1", "--seed", "3"]) == 0
    for agency in AGENCIES:  # three months are enough
        for folder in (zone / agency).iterdir():
            if folder.name > "2011-03":
                shutil.rmtree(folder)

    listed: collections.Counter[str] = collections.Counter()
    scandir = os.scandir

    def counting(path=".", *args):
        if sys._getframe(1).f_globals.get("__name__") == "dagster_project.ingest.listings":
            listed[Path(path).relative_to(zone).as_posix()] += 1
        return scandir(path, *args)

    monkeypatch.setattr(os, "scandir", counting)
    paths = PfpwPaths(sources_dir=str(zone), warehouse_dir=str(tmp_path / "wh"))
    dg.materialize([reference_tables], instance=instance, resources={"paths": paths})

    def run(fanout: str, one_pass: Path) -> set[str]:
        """The run's ingestion units (step keys of the township's and hospital's files steps)."""
        listed.clear()
        monkeypatch.setenv("PFPW_INGEST_FANOUT", fanout)
        result = dg.materialize(AGENCY_ASSETS, instance=instance, resources={"paths": paths})
        assert result.success
        folders = [f"{a}/2011-0{m}" for a in AGENCIES for m in (1, 2, 3)]
        assert listed == collections.Counter(folders)  # once each, by the plan step; the units reuse it
        Lake(tmp_path / "wh").consolidate()
        ingest_all(zone, one_pass)
        assert _lake(tmp_path / "wh") == _lake(one_pass)
        steps = {e.step_key for e in result.all_events if e.step_key and "_files[" in e.step_key}
        return {k.split(".")[-1] for k in steps if k.startswith(("ingest_township", "ingest_hospital"))}

    assert run("district", tmp_path / "one_pass") == {
        f"{agency}_files[{district}]"
        for agency in ("township", "hospital")
        for district in ("331003", "331004")
    }

    gone = sorted((zone / "township" / "2011-02").glob("*.xlsx"))[-1]
    lake = Lake(tmp_path / "wh")
    assert lake.ledger_entry("township_births", "2011-02", gone.stem) is not None
    gone.unlink()
    assert run("auto", tmp_path / "one_pass_after") == {"township_files[all]", "hospital_files[all]"}
    assert lake.ledger_entry("township_births", "2011-02", gone.stem) is None


def test_the_fanout_is_one_unit_per_agency_in_process_and_per_district_side_by_side():
    ref = load_reference(SAMPLE)
    assert fanout_for("auto", "in_process") == "agency" and fanout_for("auto", "multiprocess") == "district"
    assert fanout_for("district-month", "in_process") == "district-month"
    units = plan_units(SAMPLE, "township", ref, "agency")
    assert [(u.district, len(u.months)) for u in units] == [("all", 24)]


def test_months_in_batches_give_the_lake_of_one_read(tmp_path, monkeypatch):
    """An agency's months go in batches of landing files (their ledger read, hashes compared and changed files
    read per batch; withdrawals too): with batches of a few files, a first ingestion, a re-delivery, a
    withdrawn file and an unchanged night each leave the lake of batches as large as the history."""
    import shutil

    from dagster_project.ingest import run as ingest_run

    zone = small_zone(tmp_path / "sources", townships=2)
    lakes: dict[int, list] = {}
    for size in (ingest_run.LEDGER_FILES_PER_READ, 7):
        monkeypatch.setattr(ingest_run, "LEDGER_FILES_PER_READ", size)
        here = tmp_path / f"zone_{size}"
        shutil.copytree(zone, here)
        wh = tmp_path / f"wh_{size}"
        states = []
        report = ingest_all(here, wh)
        states.append((report.files_ingested, report.files_unchanged, report.files_removed, _lake(wh)))
        first = sorted((here / "township" / "2011-05").glob("*.xlsx"))
        shutil.copy2(first[1], first[0])  # a re-delivery: another workbook's content under this name
        (sorted((here / "hospital" / "2012-02").glob("*.csv"))[0]).unlink()  # a withdrawal
        report = ingest_all(here, wh)
        states.append((report.files_ingested, report.files_unchanged, report.files_removed, _lake(wh)))
        report = ingest_all(here, wh)
        states.append((report.files_ingested, report.files_unchanged, report.files_removed, _lake(wh)))
        lakes[size] = states
    assert [s[:3] for s in lakes[7]] == [s[:3] for s in lakes[ingest_run.LEDGER_FILES_PER_READ]]
    (_i, _u, _r, _), (redelivered, _u2, withdrawn, _l2), (quiet, _u3, _r3, _l3) = lakes[7]
    assert (redelivered, withdrawn, quiet) == (1, 1, 0)
    assert [s[3] for s in lakes[7]] == [s[3] for s in lakes[ingest_run.LEDGER_FILES_PER_READ]]
    assert len(ingest_run._batches([(f"2011-{m:02d}", [0] * 4) for m in range(1, 13)], 7)) == 12
    assert [len(b) for b in ingest_run._batches([(f"2011-{m:02d}", [0] * 3) for m in range(1, 13)], 7)] == [
        2
    ] * 6
