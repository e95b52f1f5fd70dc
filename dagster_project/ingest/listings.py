"""The landing zone's month folders as ingestion lists them: the deliveries of an agency's month, by
segment, each with the extracts it feeds; listed once per run and shared by the run's work units."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_project import landing
from dagster_project.ingest.units import district_of_name
from dagster_project.reference import Reference
from dagster_project.schemas.contract import ExtractSpec, extract_for_file

Listing = dict[str, list[tuple[str, frozenset[str], str]]]  # segment -> (name, extracts it feeds, segment)


def entries(
    sources: Path,
    reference: Reference,
    listings: dict | None,
    specs: tuple[ExtractSpec, ...],
    month: str,
    segment: str | None = None,
) -> list[tuple[str, list[ExtractSpec], str]]:
    """The landing files of an agency's month that feed ``specs`` (of one segment, if given), by name,
    each with the extracts it feeds (of ``specs``, in their order) and its segment, sorted by name (names,
    not paths: a province's ten years are a few hundred thousand of them)."""
    agency = specs[0].agency
    folder = sources / agency / month
    if not (landing.is_delivery_dir(sources / agency) and landing.is_delivery_dir(folder)):
        return []
    by_segment = month_listing(sources, reference, listings, agency, month)
    listed = (
        by_segment.get(segment, [])
        if segment is not None
        else sorted((e for part in by_segment.values() for e in part), key=lambda e: e[0])
    )
    out = []
    for name, kinds, seg in listed:
        if mine := [s for s in specs if s.name in kinds]:
            out.append((name, mine, seg))
    return out


def month_listing(
    sources: Path, reference: Reference, listings: dict | None, agency: str, month: str
) -> Listing:
    """segment -> (name, extracts it feeds, segment) of the deliveries in an agency's month folder,
    sorted by name: regular files the contract names (a link, a FIFO or a device is listed as ignored:
    unknown_files). One listing of the folder per run when ``listings`` is shared by the run's units
    (:func:`run_listings`): a province's month folder holds every district's files, and each of the
    districts' units would otherwise list and classify them all."""
    key = (str(sources), reference.fingerprint, agency, month)
    if listings is not None and key in listings:
        return listings[key]
    by_segment: Listing = {}
    for entry in os.scandir(sources / agency / month):
        kinds = frozenset(k.name for k in extract_for_file(agency, entry.name))
        if kinds and entry.is_file(follow_symlinks=False) and not landing.name_problem(entry.name):
            seg = district_of_name(agency, entry.name, reference)
            by_segment.setdefault(seg, []).append((entry.name, kinds, seg))
    for part in by_segment.values():
        part.sort(key=lambda e: e[0])
    if listings is not None:
        listings[key] = by_segment
    return by_segment


_RUN_LISTINGS: dict[str, dict] = {}


def run_listings(run_id: str) -> dict:
    """The landing zone's month-folder listings of one run (``Ingestor.listings``), shared by the run's
    work units in this process, each of which makes its own Ingestor: a folder is listed once per run,
    not once per district. Only the newest run's are kept; :func:`forget_listings` lets an agency's go.

    The listing is the run's snapshot of the folder: a file that arrives after it is the next run's, and
    one that leaves after it is not read ("not read ... the next run lists it"), as between any listing
    and reading."""
    if run_id not in _RUN_LISTINGS:
        _RUN_LISTINGS.clear()
        _RUN_LISTINGS[run_id] = {}
    return _RUN_LISTINGS[run_id]


def forget_listings(run_id: str, agency: str) -> None:
    """An agency's listings of the run, once its units are done (a province's are tens of megabytes)."""
    listings = _RUN_LISTINGS.get(run_id, {})
    for key in [k for k in listings if k[2] == agency]:
        del listings[key]
