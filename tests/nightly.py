"""Many nights on one instance: random landing-zone changes, each night compared with a fresh build.

The invariant (issue "nightly operations"): after any sequence of landing-zone changes, night
after night on one persistent Dagster instance and warehouse, the served marts and audit tables
equal those of a fresh `pfpw run` on the final landing zone in an empty warehouse with an empty
instance, cell for cell. Used by ``tests/test_nightly_invariant.py`` (small, in ``make test``)
and by ``make soak`` (``python -m tests.nightly``: many sequences, the sample's seed and a
second generated district).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from dagster_project.publish import SERVED_AUDIT_TABLES, TEAM_AUDIT_TABLES
from dagster_project.schemas.targets import DISTRICT_DIGITS, INDICATORS, TARGETS_FILE
from dagster_project.settings import PROJECT_DIR

SAMPLE = PROJECT_DIR / "sources"
AGENCIES = ("township", "hospital", "court", "finance")
# columns that name the run that wrote a row, not what the landing zone holds
RUN_COLUMNS = {"run_id", "ingested_at", "published_at", "evaluated_at", "duckdb_version", "storage_version"}
SKIP_TABLES = {"audit.publication", "audit.audit_results"}  # one row per run / per check of the run
# what every comparison must hold: each mart the dbt project defines (one model file each) and each audit table
# the publication copies, in the file it is served in (the snapshot takes every table; this says none is missing)
MARTS = frozenset(p.stem for p in (PROJECT_DIR / "dbt" / "models" / "marts").glob("*.sql"))
COMPARED = frozenset(
    {f"serving.duckdb:marts.{m}" for m in MARTS}
    | {f"serving.duckdb:audit.{t}" for t in SERVED_AUDIT_TABLES}
    | {f"data_team.duckdb:audit.{t}" for t in TEAM_AUDIT_TABLES}
)
KEYS = ("nightly-key-one", "nightly-key-two")


# ------------------------------------------------------------------ landing zones


def small_zone(out: Path, sample: Path = SAMPLE, townships: int = 3, targets: bool = False) -> Path:
    """A few townships of a sample, two years: reference filtered, their workbooks, every other agency.

    ``targets``: also the sample's ``reference/targets.csv``, restricted to the kept townships and their
    district (the nights' zones; other tests start without one, as a landing zone may)."""
    out.mkdir(parents=True, exist_ok=True)
    ref = sample / "reference"
    (out / "reference").mkdir()
    towns = (ref / "townships.csv").read_text(encoding="utf-8").splitlines()
    keep = [line.split(",")[0] for line in towns[1 : townships + 1]]
    for name in ("townships.csv", "villages.csv", "service_stations.csv"):
        lines = (ref / name).read_text(encoding="utf-8").splitlines()
        col = lines[0].split(",").index("township_code")
        rows = [ln for ln in lines[1:] if ln.split(",")[col] in keep]
        (out / "reference" / name).write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    shutil.copy(ref / "hospitals.csv", out / "reference" / "hospitals.csv")
    if targets:
        lines = (ref / TARGETS_FILE).read_text(encoding="utf-8").splitlines()
        areas = {*keep, *(code[:DISTRICT_DIGITS] for code in keep)}
        col = lines[0].split(",").index("area_code")
        rows = [ln for ln in lines[1:] if ln.split(",")[col] in areas]
        (out / "reference" / TARGETS_FILE).write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    for month in sorted(p.name for p in (sample / "township").iterdir()):
        for code in keep:
            src = sample / "township" / month / f"{code}.xlsx"
            if src.exists():
                (out / "township" / month).mkdir(parents=True, exist_ok=True)
                shutil.copy(src, out / "township" / month / src.name)
    for agency in ("hospital", "court", "finance"):
        shutil.copytree(sample / agency, out / agency)
    return out


# ------------------------------------------------------------------ changes


@dataclass
class World:
    """The landing zone and what is held back (not yet delivered) or was withdrawn, for one sequence."""

    zone: Path
    pool: Path  # deliveries not yet in the landing zone
    rng: random.Random
    key: str = KEYS[0]
    # the day the nights run on (PFPW_AS_OF): the sample's last months are not yet due at first
    as_of: dt.date = dt.date(2012, 11, 20)
    kinds: list[str] = field(default_factory=list)  # the changes made so far (names of CHANGES)

    def months(self, agency: str, where: Path | None = None) -> list[str]:
        folder = (where or self.zone) / agency
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    # -- each change returns a description, or None when it does not apply tonight
    def late_month(self) -> str | None:
        choices = [(a, m) for a in AGENCIES for m in self.months(a, self.pool)]
        if not choices:
            return None
        agency, month = self.rng.choice(choices)
        shutil.move(self.pool / agency / month, self.zone / agency / month)
        return f"{agency}/{month} arrives"

    def withdraw_month(self) -> str | None:
        choices = [(a, m) for a in AGENCIES for m in self.months(a)]
        if len(choices) < 8:
            return None
        agency, month = self.rng.choice(choices)
        (self.pool / agency).mkdir(parents=True, exist_ok=True)
        shutil.move(self.zone / agency / month, self.pool / agency / month)  # it may come back later
        return f"{agency}/{month} withdrawn"

    def withdraw_file(self) -> str | None:
        files = [
            p for a in ("hospital", "finance", "court") for p in (self.zone / a).glob("*/*") if p.is_file()
        ]
        if not files:
            return None
        victim = self.rng.choice(sorted(files))
        victim.unlink()
        return f"{victim.relative_to(self.zone)} withdrawn"

    def correction(self) -> str | None:
        files = sorted(
            p
            for pattern in ("finance/*/fee_payments.csv", "hospital/*/*_births.csv")
            for p in self.zone.glob(pattern)
        )
        if not files:
            return None
        path = self.rng.choice(files)
        encoding = "gbk" if path.parent.parent.name == "hospital" else "utf-8-sig"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
        if len(rows) < 2:
            return None
        i = self.rng.randrange(1, len(rows))
        cells = rows[i]
        if path.name == "fee_payments.csv":
            cells[3] = f"{float(cells[3].replace(',', '')) + 1:.2f}"  # a corrected amount
        elif self.rng.random() < 0.5:
            cells[6] = str(int(cells[6]) + 10)  # a corrected birth weight
        else:
            cells[2] = cells[2][:17] + (
                "0" if cells[2][17] != "0" else "1"
            )  # a bad check character: quarantined
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        path.write_bytes(out.getvalue().encode(encoding))
        return f"{path.relative_to(self.zone)} corrected (line {i + 1})"

    def reference_change(self) -> str | None:
        path = self.zone / "reference" / "service_stations.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        i = self.rng.randrange(1, len(lines))
        cells = lines[i].split(",")
        cells[-1] = "" if cells[-1] else "2012-07-01"  # a station closes mid-2012, or reopens
        lines[i] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return f"reference/service_stations.csv: station {cells[0]} closed_on={cells[-1] or 'empty'}"

    def targets_change(self) -> str | None:
        """``reference/targets.csv`` changes: a target's value, a row added, a row made invalid (quarantined), or
        the file withdrawn; a withdrawn file is delivered again, as it was, the next time."""
        path, held = self.zone / "reference" / TARGETS_FILE, self.pool / "reference" / TARGETS_FILE
        if held.exists():
            shutil.move(held, path)
            return f"reference/{TARGETS_FILE} delivered again"
        if not path.exists():
            return None
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [line.split(",") for line in lines[1:]]
        how = self.rng.choice(("value", "added", "invalid", "withdrawn") if rows else ("added",))
        if how == "withdrawn":
            held.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, held)
            return f"reference/{TARGETS_FILE} withdrawn"
        if how == "added":
            row = self._new_target(rows)
            rows.append(row)
            what = f"a target added: {','.join(row)}"
        else:
            i = self.rng.randrange(len(rows))
            row = rows[i]
            if how == "value":  # raised or lowered by a tenth: a target met may be missed, or the reverse
                factor = Decimal(self.rng.choice(("0.9", "1.1")))
                with contextlib.suppress(InvalidOperation):  # a target made invalid before gets a number
                    row[4] = f"{Decimal(row[4]) * factor:.1f}"
                if not row[4].lstrip("-").replace(".", "", 1).isdigit():
                    row[4] = "100"
            else:  # a fault extracts.md names: the row is quarantined and the file's other targets count
                column, value = self.rng.choice(
                    ((3, "between"), (4, "n/a"), (5, "0"), (2, "abortions"), (0, "12"))
                )
                row[column] = value
            what = f"line {i + 2} {'changed' if how == 'value' else 'made invalid'}: {','.join(row)}"
        path.write_text("\n".join([lines[0], *map(",".join, rows)]) + "\n", encoding="utf-8")
        return f"reference/{TARGETS_FILE}: {what}"

    def _new_target(self, rows: list[list[str]]) -> list[str]:
        """A target the file does not set yet (year, area, indicator), or, when it sets them all, a repeated row."""
        areas = sorted({r[1] for r in rows}) or [self.zone_district()]
        years = sorted({r[0] for r in rows}) or ["2012"]
        have = {(r[0], r[1], r[2]) for r in rows}
        free = [(y, a, i) for y in years for a in areas for i in INDICATORS if (y, a, i) not in have]
        if not free:
            return list(self.rng.choice(rows))  # a repeated (year, area, indicator): the first row counts
        year, area, indicator = self.rng.choice(free)
        # the bound and a plausible target: the same indicator's, at the same level (district or township) if set
        same = [r for r in rows if r[2] == indicator]
        like = [r for r in same if len(r[1]) == len(area)] or same
        bound, target = (like[0][3], like[0][4]) if like else ("min", "50")
        return [year, area, indicator, bound, target, str(self.rng.choice((5, 10, 15)))]

    def zone_district(self) -> str:
        towns = (self.zone / "reference" / "townships.csv").read_text(encoding="utf-8").splitlines()
        return towns[1].split(",")[0][:DISTRICT_DIGITS]

    def new_key(self) -> str | None:
        self.key = KEYS[1] if self.key == KEYS[0] else KEYS[0]
        return "new PII key"

    def time_passes(self) -> str | None:
        """Days pass: a due date may pass, and a missing month turn overdue, with no delivery at all."""
        self.as_of += dt.timedelta(days=self.rng.randint(5, 40))
        return f"time passes: as of {self.as_of}"

    def unchanged(self) -> str | None:
        return "nothing changes"

    CHANGES = (
        "late_month",
        "withdraw_month",
        "withdraw_file",
        "correction",
        "reference_change",
        "targets_change",
        "new_key",
        "time_passes",
        "unchanged",
    )

    def night(self) -> list[str]:
        done = []
        for _ in range(self.rng.choice((1, 1, 2))):
            while True:
                kind = self.rng.choice(self.CHANGES)
                what = getattr(self, kind)()
                if what:
                    done.append(what)
                    self.kinds.append(kind)
                    break
        return done


def planned_kinds(base: Path, root: Path, seed: int, nights: int) -> list[str]:
    """The kinds of change ``run_sequence`` makes for ``seed`` over ``nights`` (no run: only the
    landing zone's changes, drawn from the same random sequence)."""
    world = start_world(base, root / f"plan{seed}", random.Random(seed))
    for _ in range(nights):
        world.night()
    shutil.rmtree(root / f"plan{seed}")
    return world.kinds


def start_world(base: Path, root: Path, rng: random.Random) -> World:
    """The base zone with some deliveries held back: months of each agency (early, middle, late) and a whole agency."""
    zone, pool = root / "zone", root / "pool"
    shutil.copytree(base, zone)
    pool.mkdir()
    world = World(zone, pool, rng)
    late_agency = rng.choice(("court", "finance"))
    shutil.move(zone / late_agency, pool / late_agency)  # a new agency folder, later
    for agency in AGENCIES:
        months = world.months(agency)
        for month in rng.sample(months, k=min(3, max(0, len(months) - 12))):
            (pool / agency).mkdir(parents=True, exist_ok=True)
            shutil.move(zone / agency / month, pool / agency / month)
    return world


# ------------------------------------------------------------------ runs and comparison


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """``values`` set for the block; afterwards the whole environment is as before (what the block set
    too: `pfpw run --executor multiprocess` called in-process sets PFPW_EXECUTOR for its step processes)."""
    old = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(old)


def instance_for_test(home: Path):
    """``dg.instance_for_test`` in ``home`` with the event log storage pfpw deploys (deploy/dagster.yaml)."""
    import dagster as dg
    import yaml

    storage = yaml.safe_load((PROJECT_DIR / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))[
        "event_log_storage"
    ]
    return dg.instance_for_test(temp_dir=str(home), overrides={"event_log_storage": storage})


def run(
    sources: Path,
    warehouse: Path,
    instance,
    key: str,
    as_of: dt.date | None = None,
    executor: str = "in_process",
):
    from dagster_project.pipeline import run_pipeline

    day = {"PFPW_AS_OF": as_of.isoformat()} if as_of else {}
    with environment(
        PFPW_SOURCES_DIR=str(sources), PFPW_WAREHOUSE_DIR=str(warehouse), PFPW_PII_KEY=key, **day
    ):
        return run_pipeline(sources, warehouse, instance, out=open(os.devnull, "w"), executor=executor)  # noqa: SIM115


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of serving.duckdb and data_team.duckdb, rows sorted, without the columns that name a run."""
    out: dict[str, list[tuple]] = {}
    for name in ("serving.duckdb", "data_team.duckdb"):
        con = duckdb.connect(str(warehouse / name), read_only=True)
        try:
            for schema, table in con.sql(
                "select schema_name, table_name from duckdb_tables() order by 1, 2"
            ).fetchall():
                if f"{schema}.{table}" in SKIP_TABLES:
                    continue
                cols = [
                    c
                    for (c,) in con.execute(
                        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                        "order by column_index",
                        [schema, table],
                    ).fetchall()
                    if c not in RUN_COLUMNS
                ]
                select = ", ".join(f'"{c}"' for c in cols)
                rows = con.sql(f'select {select} from "{schema}"."{table}"').fetchall()
                out[f"{name}:{schema}.{table}"] = sorted(rows, key=repr)
        finally:
            con.close()
    return out


def differences(a: dict, b: dict, limit: int = 5) -> list[str]:
    found = []
    for table in sorted(set(a) | set(b)):
        if table not in a or table not in b:
            found.append(f"{table}: only in {'the nightly' if table in a else 'the fresh'} build")
            continue
        if a[table] != b[table]:
            only_a = [r for r in a[table] if r not in b[table]][:limit]
            only_b = [r for r in b[table] if r not in a[table]][:limit]
            found.append(
                f"{table}: {len(a[table])} vs {len(b[table])} rows; nightly only {only_a}; fresh only {only_b}"
            )
    return found


def landing_digest(zone: Path) -> str:
    from dagster_project.state import landing_digest as digest

    return digest(zone)[0]


def run_sequence(
    base: Path, root: Path, seed: int, nights: int, say=print, executor: str = "in_process"
) -> list[str]:
    """One random sequence: returns the differences found (empty when the invariant holds every night).

    The nightly runs use ``executor``; the fresh builds they are compared with are always in-process.
    """
    import dagster as dg

    rng = random.Random(seed)
    world = start_world(base, root / f"seq{seed}", rng)
    warehouse = root / f"seq{seed}" / "warehouse"
    fresh_cache: dict[tuple[str, str], dict] = {}
    problems: list[str] = []
    (root / f"seq{seed}" / "dagster_home").mkdir(parents=True)
    with instance_for_test(root / f"seq{seed}" / "dagster_home") as instance:
        for night in range(nights + 1):
            changes = ["first night"] if night == 0 else world.night()
            t0 = time.monotonic()
            outcome = run(world.zone, warehouse, instance, world.key, world.as_of, executor)
            nightly_s = time.monotonic() - t0
            if not outcome.success:
                problems.append(
                    f"seed {seed} night {night} ({changes}): the nightly run failed: {outcome.summary()}"
                )
                break
            cache_key = (landing_digest(world.zone), world.key, world.as_of)
            if night == 0 and executor == "in_process":
                # the first night is itself a fresh in-process build: an empty warehouse and a new instance
                fresh_cache[cache_key] = snapshot(warehouse)
            if cache_key not in fresh_cache:
                fresh = root / f"seq{seed}" / f"fresh{night}"
                result = run(world.zone, fresh, dg.DagsterInstance.ephemeral(), world.key, world.as_of)
                if not result.success:
                    problems.append(f"seed {seed} night {night}: the fresh build failed: {result.summary()}")
                    break
                fresh_cache[cache_key] = snapshot(fresh)
                shutil.rmtree(fresh)
            served = snapshot(warehouse)
            diff = differences(served, fresh_cache[cache_key])
            missing = sorted(COMPARED - set(served))
            if missing:
                problems.append(f"seed {seed} night {night}: not served, so not compared: {missing}")
                break
            say(
                f"seed {seed} night {night}: {'; '.join(changes)} -> "
                f"{'nothing new' if outcome.nothing_new_since else 'published'} in {nightly_s:.0f}s, "
                f"{'EQUAL to a fresh build' if not diff else 'DIFFERENT'} ({len(served)} tables, "
                f"{sum(t.startswith('serving.duckdb:marts.') for t in served)} marts; "
                f"target_attainment {len(served['serving.duckdb:marts.target_attainment'])} rows)"
            )
            if diff:
                problems += [f"seed {seed} night {night} after {changes}: {d}" for d in diff]
                break
    return problems


def main(argv: list[str] | None = None) -> int:
    """`make soak`: many sequences on the sample's seed and on a generated second district."""
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--nights", type=int, default=4)
    parser.add_argument("--townships", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="processes, each taking every n-th sequence")
    parser.add_argument(
        "--first", type=int, default=0, help="the first sequence's number (its seed is 1000 + it)"
    )
    parser.add_argument("--only", type=int, nargs="*", default=None, help="just these sequence numbers")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--root", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.worker is None:
        root = Path(tempfile.mkdtemp(prefix="pfpw-soak-"))
        from dagster_project.synth.writer import generate

        generate(root / "two", seed=2012, districts=2)
        small_zone(root / "base-sample", SAMPLE, args.townships, targets=True)
        _second_district(root / "two", root / "two-second")
        small_zone(root / "base-second", root / "two-second", args.townships, targets=True)
        common = [
            f"--sequences={args.sequences}",
            f"--nights={args.nights}",
            f"--root={root}",
            f"--first={args.first}",
        ]
        common += [f"--workers={args.workers}"] + (["--keep"] if args.keep else [])
        common += ["--only", *map(str, args.only)] if args.only else []
        procs = [
            subprocess.Popen([sys.executable, "-m", "tests.nightly", *common, f"--worker={w}"])
            for w in range(args.workers)
        ]
        codes = [p.wait() for p in procs]
        failed = sum(1 for c in codes if c)
        print(
            f"soak: {args.sequences} sequences of {args.nights} nights (sample and a second district), "
            f"{args.workers} worker(s): {'ALL EQUAL to fresh builds' if not failed else 'DIFFERENCES FOUND'} "
            f"in {time.monotonic() - start:.0f}s"
        )
        return 1 if failed else 0
    root = Path(args.root)
    bases = {"sample": root / "base-sample", "second district": root / "base-second"}
    failures = []
    numbers = args.only if args.only else range(args.first, args.first + args.sequences)
    for i in list(numbers)[args.worker :: args.workers]:
        name = "sample" if i % 2 == 0 else "second district"
        failures += run_sequence(
            bases[name],
            root / f"s{i}",
            seed=1000 + i,
            nights=args.nights,
            say=lambda m, n=name: print(f"[{n}] {m}", flush=True),
        )
        if not args.keep:
            shutil.rmtree(root / f"s{i}", ignore_errors=True)
    for f in failures:
        print("  DIFFERENCE " + f, flush=True)
    return 1 if failures else 0


def _second_district(two: Path, out: Path) -> None:
    """The landing zone of `generate --districts 2` restricted to its second district (331004)."""
    shutil.copytree(two, out)
    for name in ("townships.csv", "villages.csv", "service_stations.csv", "hospitals.csv"):
        path = out / "reference" / name
        lines = path.read_text(encoding="utf-8").splitlines()
        col = lines[0].split(",").index("township_code")
        rows = [ln for ln in lines[1:] if ln.split(",")[col].startswith("331004")]
        path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    hospitals = {
        ln.split(",")[0] for ln in (out / "reference" / "hospitals.csv").read_text().splitlines()[1:]
    }
    for p in list((out / "township").rglob("*.xlsx")):
        if not p.name.startswith("331004"):
            p.unlink()
    for p in list((out / "hospital").rglob("*.csv")):
        if p.name.split("_")[0] not in hospitals:
            p.unlink()


if __name__ == "__main__":
    sys.exit(main())
