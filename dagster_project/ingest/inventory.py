"""The landing zone's inventory: its month folders, the files the contract does not name and the entries
never opened (listed as ignored, with the reason), and the fingerprint of the reading code."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from pathlib import Path

import polars as pl

from dagster_project import landing
from dagster_project.lake import Lake, file_sha256
from dagster_project.reference import Reference
from dagster_project.schemas.contract import (
    AGENCIES,
    EXTRACTS,
    MONTH_RE,
    REFERENCE_TABLES,
    ExtractSpec,
    extract_for_file,
)
from dagster_project.schemas.targets import TARGETS_FILE


@functools.cache
def code_fingerprint() -> str:
    """Changes whenever the reading or validation code changes: such a change re-ingests everything
    (computed once per process, when first asked: importing the package hashes nothing)."""
    here = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for rel in (
        "schemas/contract.py",
        "ingest/readers.py",
        "ingest/validate.py",
        "ingest/frames.py",
        "ingest/rules.py",
        "ingest/parse.py",
        "ingest/workbook.py",
        "landing.py",
        "pii.py",
    ):
        h.update((here / rel).read_bytes())
    return h.hexdigest()[:16]


def landing_months(sources: Path, agencies: tuple[str, ...] = AGENCIES) -> list[str]:
    """Every reporting month that has a folder for any of the agencies."""
    months = set()
    for agency in agencies:  # real folders only: a link to a folder elsewhere is not followed
        months |= {name for name in landing.subfolders(sources / agency) if MONTH_RE.fullmatch(name)}
    return sorted(months)


def agency_months(sources: Path, lake: Lake, agency: str) -> list[str]:
    """The months to bring in line for an agency: those in the landing zone and those still in the lake.

    A month folder withdrawn from the landing zone is still in the lake, so it is visited and
    its files leave the lake. Sorted, whatever order the months arrived in.
    """
    in_lake = {m for spec in specs_of(agency) for m in lake.months(spec.name)}
    return sorted(set(landing_months(sources, (agency,))) | in_lake)


def landing_month_folders(sources: Path) -> pl.DataFrame:
    """(agency, reporting_month) for every month folder in the landing zone: which years are covered."""
    from dagster_project.lake import LANDING_MONTHS_SCHEMA

    rows = [(agency, month) for agency in AGENCIES for month in landing_months(sources, (agency,))]
    return pl.DataFrame(rows, schema=LANDING_MONTHS_SCHEMA, orient="row")


def unknown_files(sources: Path) -> list[tuple[str, str]]:
    """(file, reason) for everything in the landing zone that is not a delivery the contract names:
    regular files it does not name, and entries never opened (links, FIFOs, sockets, devices,
    refused names; see landing.py), their names escaped."""
    return [(rel, reason) for rel, reason, _odd in _ignored(sources)]


def _ignored(sources: Path) -> list[tuple[str, str, landing.Odd | None]]:
    inventory = landing.scan(sources)
    found: list[tuple[str, str, landing.Odd | None]] = []
    found += [(odd.rel, odd.reason, odd) for odd in inventory.odd]  # never opened
    for path, rel in zip(inventory.files, inventory.rels, strict=True):
        parts = rel.split("/")
        if parts[0] == "reference":
            named = path.stem in REFERENCE_TABLES and path.suffix == ".csv" or path.name == TARGETS_FILE
            if len(parts) != 2 or not named:
                found.append((rel, "not a reference table of the contract", None))
        elif parts[0] not in AGENCIES:
            found.append((rel, f"unknown folder {parts[0]}/", None))
        elif len(parts) != 3 or not MONTH_RE.fullmatch(parts[1]):
            found.append((rel, f"not in a {parts[0]}/<YYYY-MM>/ month folder", None))
        elif not extract_for_file(parts[0], parts[2]):
            found.append((rel, f"not a file name the contract names for {parts[0]}/", None))
    # a folder where a delivery belongs (township/2012-03/331003001.xlsx/), even empty: never a delivery
    for agency in AGENCIES:
        for month in landing_months(sources, (agency,)):
            for entry in os.scandir(sources / agency / month):
                if entry.is_dir(follow_symlinks=False) and extract_for_file(agency, entry.name):
                    odd = landing.Odd(
                        f"{agency}/{month}/{entry.name}",
                        "directory",
                        "a folder where a file belongs: never read",
                        entry.stat(follow_symlinks=False).st_mtime,
                    )
                    found.append((odd.rel, odd.reason, odd))
    return sorted(found, key=lambda item: item[0])


def ignored_ledger(sources: Path, run_id: str) -> pl.DataFrame:
    from dagster_project.lake import LEDGER_SCHEMA

    now = dt.datetime.now(dt.UTC)
    rows = []
    for rel, reason, odd in _ignored(sources):
        path = sources / rel
        month = rel.split("/")[1] if rel.count("/") >= 2 and MONTH_RE.fullmatch(rel.split("/")[1]) else None
        sha = size = None
        if odd is None:  # a regular file the contract does not name: hashed (never parsed)
            try:
                sha, size = file_sha256(path), path.lstat().st_size
            except OSError as exc:
                reason = f"{reason}; not hashed ({exc})"
        rows.append(
            {
                "source_file": rel,
                "agency": rel.split("/")[0],
                "extract": None,
                "reporting_month": month,
                "sha256": sha,
                "size_bytes": size,
                "rows_read": 0,
                "rows_loaded": 0,
                "rows_quarantined": 0,
                "status": "ignored",
                "reason": reason,
                "run_id": run_id,
                "ingested_at": now,
                "delivered_at": dt.datetime.fromtimestamp(odd.mtime, dt.UTC) if odd else delivered_at(path),
                "key_fingerprint": None,
                "reference_fingerprint": None,
                "code_fingerprint": code_fingerprint(),
            }
        )
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA)


def delivered_at(path: Path) -> dt.datetime:
    """When a file landed: its modification time (the pipeline never writes the landing zone)."""
    return dt.datetime.fromtimestamp(path.lstat().st_mtime, dt.UTC)


def specs_of(agency: str) -> tuple[ExtractSpec, ...]:
    return tuple(s for s in EXTRACTS if s.agency == agency)


def write_reference(lake: Lake, reference: Reference) -> None:
    """The reference tables into the lake, as dbt's reference sources."""
    from dagster_project.lake import write_parquet_atomic

    for name, df in reference.tables.items():
        write_parquet_atomic(df, lake.reference_path(name))


def write_inventory(sources: Path, lake: Lake, run_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ignored files (ledger rows) and the landing zone's month folders."""
    from dagster_project.lake import write_parquet_atomic

    ignored, months = ignored_ledger(sources, run_id), landing_month_folders(sources)
    write_parquet_atomic(ignored, lake.ignored_path)
    write_parquet_atomic(months, lake.landing_months_path)
    return ignored, months
