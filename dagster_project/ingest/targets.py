"""``reference/targets.csv``, the responsibility targets, read as an untrusted delivery into the lake.

The file is optional. When it is there (a regular file of the landing zone: a link or a FIFO is listed
as ignored by the inventory, never opened), it is read within the size bound (``landing.read_bytes``),
decoded as UTF-8 and parsed as CSV with its English header; a file that cannot be read so is rejected
as a whole, with the reason. Every row is then checked (extracts.md, ``targets.csv``):

- ``year``: 4 digits;
- ``area_code``: a district of the reference data (the first 6 digits of one of its township codes) or
  one of its township codes;
- ``indicator``: one of the nine; ``bound``: ``min`` or ``max``;
- ``target``: a plain decimal number (``94.5``, ``6100``, ``-1.2``: no ``nan``, ``inf``, exponent,
  separator or sign ``+``), at most 15 digits;
- ``points``: a positive whole number;
- no identity number typed into any field (the record keeps it masked, like an extract's);
- (year, area_code, indicator) not repeating an earlier row of the file (the first row counts).

A row with a fault is quarantined with every reason, exactly like an extract's row (the quarantine's
schema, ``extract`` = ``targets``); the others are loaded. The file has one ledger row (rows read =
loaded + quarantined). Where it all lives (``Lake.targets_path``)::

    <warehouse>/lake/targets/targets.parquet        the valid targets, typed (dbt's source reference.targets)
    <warehouse>/quarantine/targets/targets.parquet  the quarantined rows, with their reasons
    <warehouse>/ledger/targets/targets.parquet      the file's ledger row

An unchanged file (same content, key, reference data and code as its ledger row) is not read again.
Pure Python over paths: no Dagster here (``defs/ingestion/targets.py`` is its asset).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import re
from pathlib import Path

import polars as pl

from dagster_project import landing
from dagster_project.ingest.batch import MonthReport
from dagster_project.ingest.frames import QUARANTINE_SCHEMA
from dagster_project.lake import LEDGER_SCHEMA, TARGETS_SCHEMA, Lake, file_sha256, write_parquet_atomic
from dagster_project.pii import (
    FREE_ID_MESSAGES,
    free_text_identity,
    key_fingerprint,
    mask_free_text_identities,
)
from dagster_project.reference import Reference
from dagster_project.schemas.targets import (
    BOUNDS,
    DISTRICT_DIGITS,
    INDICATORS,
    TARGET_COLUMNS,
    TARGETS_AGENCY,
    TARGETS_EXTRACT,
    TARGETS_FILE,
    TOWNSHIP_DIGITS,
)

SOURCE_FILE = f"{TARGETS_AGENCY}/{TARGETS_FILE}"  # its path in the landing zone, as the ledger names it
YEAR_RE = re.compile(r"[0-9]{4}")
NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
NUMBER_MAX_DIGITS = 15  # a double holds them exactly
POINTS_RE = re.compile(r"[0-9]{1,9}")
DUPLICATE = "(year, area_code, indicator) repeats an earlier row of this file: the first row counts"


class TargetsRejected(Exception):
    """The whole file cannot be read as the contract says."""


@functools.cache
def code_fingerprint() -> str:
    """Changes with the code that reads and checks the targets: such a change reads the file again."""
    here = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for rel in ("ingest/targets.py", "schemas/targets.py", "landing.py", "pii.py", "lake.py"):
        h.update((here / rel).read_bytes())
    return h.hexdigest()[:16]


def targets_path(sources: Path) -> Path:
    return sources / TARGETS_AGENCY / TARGETS_FILE


def delivered(sources: Path) -> bool:
    """A targets.csv is delivered: a regular file in a real reference/ folder (anything else is the
    inventory's to list as ignored)."""
    path = targets_path(sources)
    if not landing.is_delivery_dir(path.parent):
        return False
    try:
        return landing.kind_of(path.lstat().st_mode) == "file"
    except OSError:
        return False


# ------------------------------------------------------------------ reading and checking


def read_rows(raw: bytes) -> tuple[list[dict[str, str | None]], list[int], list[list[str]]]:
    """The file's data rows (the contract's columns, stripped, blanks None), their line numbers, and the faults
    of each row's shape (more or fewer fields than the header). Blank lines are not rows."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TargetsRejected(f"wrong encoding: not valid UTF-8 at byte {exc.start}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines, faults = [], [], []
    header: list[str] | None = None
    last = 0  # the line the previous record ended on
    try:
        for record in reader:
            first, last = last + 1, reader.line_num
            if not any(field.strip() for field in record):
                continue
            if header is None:
                header = [name.strip() for name in record]
                _check_header(header)
                continue
            values = dict(zip(header, (field.strip() or None for field in record), strict=False))
            rows.append({c: values.get(c) for c in TARGET_COLUMNS})
            lines.append(first)
            faults.append(
                [f"row: has {len(record)} fields where the header names {len(header)}"]
                if len(record) != len(header)
                else []
            )
    except csv.Error as exc:
        raise TargetsRejected(f"not a readable CSV (line {reader.line_num}: {exc})") from exc
    if header is None:
        raise TargetsRejected(f"empty file: the header row ({', '.join(TARGET_COLUMNS)}) is missing")
    return rows, lines, faults


def _check_header(header: list[str]) -> None:
    missing = [c for c in TARGET_COLUMNS if c not in header]
    if missing:
        raise TargetsRejected(
            f"missing column(s) {', '.join(missing)} (the header must name {', '.join(TARGET_COLUMNS)})"
        )
    twice = [c for c in TARGET_COLUMNS if header.count(c) > 1]
    if twice:
        raise TargetsRejected(f"column(s) named twice in the header: {', '.join(twice)}")


def row_reasons(row: dict[str, str | None], reference: Reference) -> list[str]:
    """Every fault of one row (its own values; repeats are the file's to find)."""
    reasons = []
    for column in TARGET_COLUMNS:
        if row[column] is None:
            reasons.append(f"{column}: is blank")
    year, area, indicator, bound, target, points = (row[c] for c in TARGET_COLUMNS)
    if year is not None and not YEAR_RE.fullmatch(year):
        reasons.append("year: is not a 4-digit year")
    if area is not None:
        if len(area) == DISTRICT_DIGITS and area.isascii() and area.isdigit():
            if area not in {t[:DISTRICT_DIGITS] for t in reference.townships}:
                reasons.append(
                    "area_code: is not a district of the reference data (of none of its townships)"
                )
        elif len(area) == TOWNSHIP_DIGITS and area.isascii() and area.isdigit():
            if area not in reference.townships:
                reasons.append("area_code: is not a township of the reference data")
        else:
            reasons.append("area_code: is not a 6-digit district code or a 9-digit township code")
    if indicator is not None and indicator not in INDICATORS:
        reasons.append(f"indicator: is not one of {', '.join(INDICATORS)}")
    if bound is not None and bound not in BOUNDS:
        reasons.append(f"bound: is not one of {', '.join(BOUNDS)}")
    if target is not None and not (
        NUMBER_RE.fullmatch(target) and sum(ch.isdigit() for ch in target) <= NUMBER_MAX_DIGITS
    ):
        reasons.append(
            f"target: is not a plain decimal number of at most {NUMBER_MAX_DIGITS} digits (e.g. 94.5, 6100)"
        )
    if points is not None and not (POINTS_RE.fullmatch(points) and int(points) > 0):
        reasons.append("points: is not a positive whole number")
    for column in TARGET_COLUMNS:
        kind = free_text_identity(row[column])
        if kind is not None:
            reasons.append(f"{column}: {FREE_ID_MESSAGES[kind]}")
    return reasons


def check(
    rows: list[dict[str, str | None]],
    lines: list[int],
    faults: list[list[str]],
    reference: Reference,
    key: bytes,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(loaded, quarantined): the valid rows typed (``TARGETS_SCHEMA``) and every other with its reasons."""
    seen: set[tuple] = set()
    good: list[dict] = []
    bad: list[dict] = []
    for row, line, fault in zip(rows, lines, faults, strict=True):
        reasons = fault + row_reasons(row, reference)
        identity = (row["year"], row["area_code"], row["indicator"])
        if identity in seen:
            reasons.append(DUPLICATE)
        seen.add(identity)
        if not reasons:
            good.append(
                {
                    **row,
                    "year": int(row["year"]),
                    "target": float(row["target"]),
                    "points": int(row["points"]),
                    "source_file": SOURCE_FILE,
                    "source_row": line,
                }
            )
            continue
        record = {
            c: (mask_free_text_identities(v, key) if free_text_identity(v) else v) for c, v in row.items()
        }
        bad.append(
            {
                "extract": TARGETS_EXTRACT,
                "source_file": SOURCE_FILE,
                "reporting_month": None,
                "source_row": line,
                "reasons": reasons,
                "record": json.dumps(record, ensure_ascii=False),
            }
        )
    return pl.DataFrame(good, schema=TARGETS_SCHEMA), pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)


# ------------------------------------------------------------------ the lake


def _count(path: Path) -> int:
    return pl.scan_parquet(path).select(pl.len()).collect().item() if path.exists() else 0


def _unchanged(lake: Lake, entry: dict) -> bool:
    """The ledger row of the file matches what it would be now, and the lake holds what it promises."""
    old = pl.read_parquet(lake.targets_path("ledger")) if lake.targets_path("ledger").exists() else None
    if old is None or old.height != 1 or old.schema != pl.Schema(LEDGER_SCHEMA):
        return False
    row = old.row(0, named=True)
    same = all(
        row[k] == entry[k] for k in ("sha256", "key_fingerprint", "reference_fingerprint", "code_fingerprint")
    )
    return (
        same
        and row["status"] != "rejected"
        and _count(lake.targets_path("lake")) == row["rows_loaded"]
        and _count(lake.targets_path("quarantine")) == row["rows_quarantined"]
    )


def _write(lake: Lake, loaded: pl.DataFrame, quarantined: pl.DataFrame, entry: dict | None) -> None:
    """The three areas, the ledger last (its row is the commit marker: a run killed before it reads the file again)."""
    write_parquet_atomic(loaded, lake.targets_path("lake"))
    quarantine = lake.targets_path("quarantine")
    if quarantined.height:
        write_parquet_atomic(quarantined, quarantine)
    else:
        quarantine.unlink(missing_ok=True)
    ledger = lake.targets_path("ledger")
    if entry is None:
        ledger.unlink(missing_ok=True)
    else:
        write_parquet_atomic(pl.DataFrame([entry], schema=LEDGER_SCHEMA), ledger)


def ingest_targets(
    sources: Path, lake: Lake, reference: Reference, key: bytes, max_bytes: int, run_id: str = "manual"
) -> MonthReport:
    """Bring the lake's targets in line with the landing zone's ``reference/targets.csv`` (absent: none)."""
    report = MonthReport()
    lake.ensure_layout()
    if not delivered(sources):
        report.files_removed = int(lake.targets_path("ledger").exists())
        _write(lake, pl.DataFrame(schema=TARGETS_SCHEMA), pl.DataFrame(schema=QUARANTINE_SCHEMA), None)
        return report
    path = targets_path(sources)
    report.files_seen = 1
    entry = {
        "source_file": SOURCE_FILE,
        "agency": TARGETS_AGENCY,
        "extract": TARGETS_EXTRACT,
        "reporting_month": None,
        "sha256": None,
        "size_bytes": None,
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_quarantined": 0,
        "status": "loaded",
        "reason": None,
        "run_id": run_id,
        "ingested_at": dt.datetime.now(dt.UTC),
        "delivered_at": dt.datetime.fromtimestamp(path.lstat().st_mtime, dt.UTC),
        "key_fingerprint": key_fingerprint(key),
        "reference_fingerprint": reference.fingerprint,
        "code_fingerprint": code_fingerprint(),
    }
    loaded, quarantined = pl.DataFrame(schema=TARGETS_SCHEMA), pl.DataFrame(schema=QUARANTINE_SCHEMA)
    try:
        entry["sha256"], entry["size_bytes"] = file_sha256(path), path.lstat().st_size
        if _unchanged(lake, entry):
            report.files_unchanged = 1
            return _counted(report, pl.read_parquet(lake.targets_path("ledger")).row(0, named=True))
        loaded, quarantined = check(*read_rows(landing.read_bytes(path, max_bytes)), reference, key)
    except (OSError, TargetsRejected) as exc:  # swapped for a link, grown past the bound, unreadable
        entry.update(status="rejected", reason=str(exc))
        report.rejected.append((SOURCE_FILE, str(exc)))
    report.files_ingested = 1
    entry.update(rows_read=loaded.height + quarantined.height, rows_loaded=loaded.height)
    entry["rows_quarantined"] = quarantined.height
    _write(lake, loaded, quarantined, entry)
    return _counted(report, entry)


def _counted(report: MonthReport, entry: dict) -> MonthReport:
    report.rows_read, report.rows_loaded = entry["rows_read"], entry["rows_loaded"]
    report.rows_quarantined = entry["rows_quarantined"]
    report.per_extract[TARGETS_EXTRACT] = {
        "read": report.rows_read,
        "loaded": report.rows_loaded,
        "quarantined": report.rows_quarantined,
    }
    return report


def balance_problems(lake: Lake) -> list[str]:
    """The ledger row against the lake: rows read = loaded + quarantined, and the Parquet holds exactly those."""
    ledger = lake.targets_path("ledger")
    if not ledger.exists():
        rows = _count(lake.targets_path("lake")) + _count(lake.targets_path("quarantine"))
        return [f"{SOURCE_FILE}: no ledger row, yet the lake holds {rows} rows of it"] if rows else []
    row = pl.read_parquet(ledger).row(0, named=True)
    loaded, quarantined = _count(lake.targets_path("lake")), _count(lake.targets_path("quarantine"))
    if row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"] == loaded + quarantined and (
        row["rows_loaded"] == loaded
    ):
        return []
    return [
        f"{SOURCE_FILE}: read {row['rows_read']}, ledger loaded {row['rows_loaded']} / quarantined "
        f"{row['rows_quarantined']}, Parquet holds {loaded} loaded / {quarantined} quarantined"
    ]
