"""Writing planned districts as a landing zone, in exactly the contract's formats.

Each district is planned and written on its own (its township workbooks and hospital files by the
district's own process when there are several, ``concurrent.futures``), from ``(seed, index)`` alone, so
the files never depend on the number of processes. Court and finance files hold every district: the
districts' rows come back serialised and are merged in a fixed order.

The files of each agency are written by their own module: ``workbooks`` (the township's, with the
workbook writer of ``xlsx``) and ``extracts`` (reference tables, hospitals, court and finance).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import random
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from dagster_project.synth.extracts import (
    court_and_finance_rows,
    write_court_and_finance,
    write_hospital,
    write_reference,
)
from dagster_project.synth.generator import DISTRICT_CODES, District, Planner
from dagster_project.synth.profile import GOLDEN, Profile, varied
from dagster_project.synth.targets import district_targets, write_targets
from dagster_project.synth.workbooks import write_township_workbooks
from dagster_project.synth.xlsx import static_parts

__all__ = ["Generation", "district_profile", "generate"]


@dataclass
class Generation:
    """What ``generate`` wrote: the districts (reference data only), data rows, files and seconds."""

    districts: list[District]
    months: list[str]
    rows: int = 0
    files: int = 0
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.districts)


def district_profile(seed: int, index: int, years: tuple[int, ...], vary: bool) -> Profile:
    return varied(seed, index, years) if vary else GOLDEN


def _district_job(job: tuple) -> tuple[District, dict, int, int, list[dict]]:
    """Plan one district and write its township and hospital files (runs in a worker process); its targets."""
    out, seed, index, code, years, vary = job
    profile = district_profile(seed, index, years, vary)
    planner = Planner(code, index, seed, profile)
    d = planner.plan()
    months = planner.months
    targets = district_targets(planner, d, seed)  # from the plan, on a random stream of their own
    # the first district draws its writer's randomness as the single-district generator always has
    rng = random.Random(f"{seed}-writer" if index == 0 else f"{seed}-writer-{code}")
    names: dict[str, str] = {}
    for number in sorted(planner.used_ids):  # every identity number gets one stable name
        names[number] = planner.name()
    for r in d.registrations:
        names[r.mother_id] = r.mother_name
    # xlsxwriter's compression where the report's districts are written, a faster one elsewhere
    rows = write_township_workbooks(out, d, months, rng, 1 if vary else zlib.Z_DEFAULT_COMPRESSION)
    rows += write_hospital(out, d, months, names)
    files = len(months) * (len(d.townships) + 2 * len(d.hospitals))
    parts = court_and_finance_rows(d, months, rng, names)
    reference = District(d.code, d.index, d.court_abbr, d.townships, d.villages, d.hospitals, d.stations)
    for v in reference.villages:
        v.pop, v.women, v.deaths = [], [], []
    return reference, parts, rows, files, targets


def generate(
    out: Path,
    seed: int = 2012,
    districts: int = 1,
    years: int | None = None,
    start_year: int | None = None,
    workers: int | None = None,
    vary: bool | None = None,
) -> Generation:
    """Write a landing zone of ``districts`` districts and ``years`` years from ``start_year`` into ``out``.

    The defaults (the profile's two years) give districts that each reproduce the founding report;
    other years, or ``vary=True``, give districts that differ (:func:`~dagster_project.synth.profile.varied`).
    Districts are planned and written by up to ``workers`` processes (default: the cores); the files
    do not depend on how many.
    """
    started = time.perf_counter()
    if not 1 <= districts <= len(DISTRICT_CODES):
        raise ValueError(f"--districts must be between 1 and {len(DISTRICT_CODES)}")
    n_years = len(GOLDEN.years) if years is None else years
    first = GOLDEN.years[0] if start_year is None else start_year
    if not 1 <= n_years <= 50 or not 1900 <= first <= 2100:
        raise ValueError("--years must be between 1 and 50 and --start-year a year like 2012")
    span = tuple(range(first, first + n_years))
    if vary is None:
        vary = span != GOLDEN.years
    elif not vary and span != GOLDEN.years:
        raise ValueError(f"the founding report's profile covers {GOLDEN.years[0]}-{GOLDEN.years[-1]} only")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(out, seed, i, code, span, vary) for i, code in enumerate(DISTRICT_CODES[:districts])]
    workers = max(1, min(workers or os.cpu_count() or 1, districts))
    static_parts()  # once, before the workers start
    if workers == 1:
        results = [_district_job(job) for job in jobs]
    else:
        # the largest districts first, so that no worker is left with a big one at the end
        size = {i: sum(district_profile(seed, i, span, vary).village_counts) for i in range(districts)}
        context = multiprocessing.get_context("fork") if os.name == "posix" else None
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {i: pool.submit(_district_job, jobs[i]) for i in sorted(size, key=lambda i: -size[i])}
            results = [futures[i].result() for i in range(districts)]
    planned = [r[0] for r in results]
    months = [f"{y}-{m:02d}" for y in span for m in range(1, 13)]
    write_reference(out, planned)
    write_targets(out, [row for r in results for row in r[4]])
    rows = sum(r[2] for r in results)
    rows += write_court_and_finance(out, [r[1] for r in results], months)
    files = sum(r[3] for r in results) + 4 * len(months)  # delivered files (reference/ aside)
    return Generation(planned, months, rows, files, time.perf_counter() - started)


def GOLDEN_PROFILE():  # noqa: N802 - a factory kept beside generate() for the CLI's --profile later
    return GOLDEN
