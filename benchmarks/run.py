"""Benchmarks: generation, ingestion and the whole pipeline on landing zones of 1 and K districts.

    .venv/bin/python benchmarks/run.py [--districts 1 4] [--out benchmarks/out]

Prints a Markdown table (the README's figures come from it). Each size is measured once,
cold (fresh warehouse), then the ingestion again unchanged (the nightly case: nothing new).
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.nightly import pfpw_run as timed_pfpw_run  # noqa: E402
from dagster_project.ingest.run import MonthReport, ingest_landing_zone  # noqa: E402
from dagster_project.lake import Lake  # noqa: E402
from dagster_project.synth.writer import generate  # noqa: E402


def ingest(sources: Path, warehouse: Path) -> tuple[MonthReport, float]:
    t = time.perf_counter()
    report = ingest_landing_zone(sources, Lake(warehouse), b"bench")
    return report, time.perf_counter() - t


def pfpw_run(base: Path) -> float:
    """A whole `pfpw run` as a new process (it stops the benchmark with its output if it fails)."""
    return timed_pfpw_run(base / "sources", base / "warehouse", base / "home")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--districts", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = parser.parse_args()
    out = Path(args.out)
    rows = []
    for k in args.districts:
        base = out / f"d{k}"
        shutil.rmtree(base, ignore_errors=True)
        t = time.perf_counter()
        generate(base / "sources", seed=2012, districts=k)
        gen = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (base / "sources").rglob("*") if p.is_file()) / 1e6
        report, cold = ingest(base / "sources", base / "ingest_only")
        _, warm = ingest(base / "sources", base / "ingest_only")
        (base / "home").mkdir(parents=True)
        full = pfpw_run(base)
        nightly = pfpw_run(base)  # the nightly case: nothing new
        rows.append(
            (
                k,
                report.files_seen,
                report.rows_read,
                f"{size:.1f}",
                f"{gen:.1f}",
                f"{cold:.1f}",
                f"{report.rows_read / cold:,.0f}",
                f"{warm:.1f}",
                f"{full:.0f}",
                f"{nightly:.0f}",
                "ok",
            )
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "| districts | files | rows | MB | generate s | ingest s (cold) | rows/s | ingest s (unchanged) "
        "| pfpw run s (cold) | pfpw run s (nothing new) | runs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    print(f"\npeak RSS of the benchmark process (generation + ingestion): {peak:.0f} MB")


if __name__ == "__main__":
    main()
