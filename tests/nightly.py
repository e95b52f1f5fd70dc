"""Many nights on one instance: random landing-zone changes, each night compared with a fresh build.

The invariant (issue "nightly operations"): after any sequence of landing-zone changes, night
after night on one persistent Dagster instance and warehouse, the served marts and audit tables
equal those of a fresh `pfpw run` on the final landing zone in an empty warehouse with an empty
instance, cell for cell. Used by ``tests/test_nightly_invariant.py`` (small, in ``make test``)
and by ``make soak`` (``python -m tests.nightly``: many sequences, the sample's seed and a
second generated district). The kinds of change a night brings are ``tests/nightly_changes.py``'s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from dagster_project.publish import SERVED_AUDIT_TABLES, TEAM_AUDIT_TABLES
from dagster_project.schemas.targets import DISTRICT_DIGITS, TARGETS_FILE
from dagster_project.settings import PROJECT_DIR
from tests.nightly_changes import World as World  # re-exported: tests read nightly.World.CHANGES
from tests.nightly_changes import start_world

SAMPLE = PROJECT_DIR / "sources"
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


# ------------------------------------------------------------------ changes (tests/nightly_changes.py)


def planned_kinds(base: Path, root: Path, seed: int, nights: int) -> list[str]:
    """The kinds of change ``run_sequence`` makes for ``seed`` over ``nights`` (no run: only the
    landing zone's changes, drawn from the same random sequence)."""
    world = start_world(base, root / f"plan{seed}", random.Random(seed))
    for _ in range(nights):
        world.night()
    shutil.rmtree(root / f"plan{seed}")
    return world.kinds


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
        # the nights compare the served files, which the night publishes before the report's own run (that run
        # reads only the served file: tests/test_report_run.py, test_report.py): not run here
        return run_pipeline(
            sources,
            warehouse,
            instance,
            out=open(os.devnull, "w"),
            executor=executor,
            report=False,  # noqa: SIM115
        )


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
