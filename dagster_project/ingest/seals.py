"""Seals: the months of an agency whose ledger is in line with their landing folder, so that a night
need not read their ledger to know it.

Ingestion compares every landing file with the ledger (its sha256, the PII key's, the reference
tables' and the code's fingerprints, the lake files the ledger promises): a province's ten years are
some 275,000 files, and reading the ledger of every month for that took most of a month's night's
ingestion. A month that did not change needs none of it:

- the ledger step reads the whole ledger anyway (``Lake.consolidate``). For every (agency, month)
  whose ledger files changed since their seal, it writes a new seal: the digest of the month's
  ledger rows of the agency's extracts (extract, source file, segment, sha256 and the three
  fingerprints), what ``lstat`` says of each of the month's ledger files, and the lake files the rows
  promise (data for loaded rows, quarantine for quarantined ones);
- a night then digests each month's landing listing the same way (each file's sha256 from
  digests.py, today's fingerprints). When it equals the seal, the month's ledger files are the
  sealed ones, unchanged, and the promised lake files are there, every file of the month is
  unchanged and none was withdrawn or moved: the month is skipped, its ledger not read. Anything
  else (a new, corrected or withdrawn file, another key, reference or code, a ledger or lake file
  lost or rewritten) reads the month's ledger as before.

The seals are ``<warehouse>/state/ledger_seals.json``. A lost or stale one costs a read, never a
wrong answer: a seal is trusted only while the ledger files it names are the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from dagster_project import atomic
from dagster_project.ingest import snapshots
from dagster_project.ingest.validate import QUARANTINE_SCHEMA
from dagster_project.lake import LEDGER_SCHEMA, Lake
from dagster_project.schemas.contract import ExtractSpec

STORE = "ledger_seals.json"
VERSION = 1


def _digest(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for line in sorted(lines):
        h.update(line.encode())
    return h.hexdigest()


def _line(extract: str, source_file: str, segment: str, sha: str, key: str, ref: str, code: str) -> str:
    return f"{extract}\0{source_file}\0{segment}\0{sha}\0{key}\0{ref}\0{code}\n"


def store_path(lake: Lake) -> Path:
    return lake.root / "state" / STORE


def load(lake: Lake) -> dict[str, dict]:
    """The seals, by ``<agency>/<month>`` (none when the store is missing, unreadable or of another version)."""
    try:
        payload = json.loads(store_path(lake).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(payload, dict) or payload.get("version") != VERSION:
        return {}
    months = payload.get("months")
    return months if isinstance(months, dict) else {}


def read_ledger_and_seal(lake: Lake) -> pl.DataFrame:
    """``Lake.ledger()`` (only the ledger files changed since the last night read again: snapshots.py),
    and the seals written again for the months whose ledger files changed since their seal (or that have
    none); the seals of months gone from the ledger leave."""
    frame, listed = snapshots.read(lake.root / "ledger", lake.root / "state", "ledger", LEDGER_SCHEMA)
    if not listed:
        atomic.write_json(store_path(lake), {"version": VERSION, "months": {}})
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    # what lstat said of each extract's ledger file, taken before the read: a file replaced since is
    # another file, whose seal never holds
    files: dict[tuple[str, str], dict[str, list[int] | None]] = defaultdict(dict)  # (extract, month) -> seg
    for rel, st in listed.items():
        parts = rel.split("/")
        if len(parts) == 3 and parts[1].startswith("month="):
            files[(parts[0], parts[1].removeprefix("month="))][parts[2].removesuffix(".parquet")] = (
                None if st is None else snapshots.identity(st)
            )
    old = load(lake)
    months: dict[str, dict] = {}
    rows = frame.filter(pl.col("extract").is_not_null() & pl.col("reporting_month").is_not_null())
    for (agency, month), group in rows.partition_by("agency", "reporting_month", as_dict=True).items():
        key = f"{agency}/{month}"
        extracts = sorted(set(group["extract"].to_list()))
        ledger_files = {f"{e}/{seg}": ident for e in extracts for seg, ident in files[(e, month)].items()}
        if None in ledger_files.values():
            continue  # a ledger file that could not be looked at: no seal, the month is read
        if key in old and old[key].get("ledger") == ledger_files:
            months[key] = old[key]  # the same files as when sealed: the same rows
            continue
        lines, needs = [], set()
        for extract, source, sha, kfp, rfp, cfp, loaded, quarantined, path in group.select(
            "extract",
            "source_file",
            "sha256",
            "key_fingerprint",
            "reference_fingerprint",
            "code_fingerprint",
            "rows_loaded",
            "rows_quarantined",
            snapshots.PATH,
        ).iter_rows():
            segment = os.path.basename(path).removesuffix(".parquet")
            lines.append(_line(extract, source, segment, sha, kfp, rfp, cfp))
            if loaded:
                needs.add(f"lake/{extract}/month={month}/{segment}.parquet")
            if quarantined:
                needs.add(f"quarantine/{extract}/month={month}/{segment}.parquet")
        months[key] = {"digest": _digest(lines), "ledger": ledger_files, "needs": sorted(needs)}
    atomic.write_json(store_path(lake), {"version": VERSION, "months": months}, separators=(",", ":"))
    return frame.drop(snapshots.PATH).sort("source_file", "extract")


def read_quarantine(lake: Lake) -> pl.DataFrame:
    """``Lake.quarantine()``, with only the quarantine files changed since the last night read again."""
    frame, _listed = snapshots.read(
        lake.root / "quarantine", lake.root / "state", "quarantine", QUARANTINE_SCHEMA
    )
    return frame.drop(snapshots.PATH)


def holds(
    lake: Lake,
    seal: dict | None,
    specs: tuple[ExtractSpec, ...],
    month: str,
    listed: Iterable[tuple[str, frozenset[str] | list, str, str]],
    fingerprints: tuple[str, str, str],
) -> bool:
    """Whether ``seal`` still holds for an agency's month: ``listed`` (rel, the extracts each file feeds,
    segment, sha256) digests to it with today's ``fingerprints`` (key, reference, code), its ledger
    files are the sealed ones, unchanged and no others, and the lake files it promises are there."""
    if not seal:
        return False
    names = {s.name for s in specs}
    lines = [
        _line(extract, rel, segment, sha, *fingerprints)
        for rel, kinds, segment, sha in listed
        for extract in kinds
        if extract in names
    ]
    if _digest(lines) != seal.get("digest"):
        return False
    found: dict[str, list[int]] = {}
    for spec in specs:
        folder = lake.root / "ledger" / spec.name / f"month={month}"
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError:
            return False
        for entry in entries:
            if entry.name.endswith(".parquet"):
                try:
                    found[f"{spec.name}/{entry.name.removesuffix('.parquet')}"] = snapshots.identity(
                        entry.stat(follow_symlinks=False)
                    )
                except OSError:
                    return False
    if found != seal.get("ledger"):
        return False
    return all(os.path.exists(lake.root / rel) for rel in seal.get("needs", []))
