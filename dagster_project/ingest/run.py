"""Ingesting an agency's extracts, or one work unit's share of them: read, validate, pseudonymise,
store in the lake's segments (lake.py), account in the ledger.

Pure Python over paths (no Dagster here), so tests and benchmarks can call it
directly and the Dagster assets stay thin. The rooms: chunk.py (a chunk of files read and validated),
batch.py (reports and segment batches), pool.py (the reading workers), units.py (work units),
inventory.py (the landing zone's folders, ignored entries and the code's fingerprint).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster_project import landing
from dagster_project.failpoints import failpoint
from dagster_project.ingest import chunk
from dagster_project.ingest import pool as ingest_pool
from dagster_project.ingest.batch import MonthReport, SegmentBatch, concat
from dagster_project.ingest.inventory import (
    agency_months,
    code_fingerprint,
    ignored_ledger,
    landing_month_folders,
    landing_months,
    specs_of,
    unknown_files,
    write_inventory,
    write_reference,
)
from dagster_project.ingest.units import ALL, Unit, district_of, district_of_name, fanout_for, plan_units
from dagster_project.lake import Lake, file_sha256
from dagster_project.pii import key_fingerprint
from dagster_project.reference import Reference, load_reference
from dagster_project.schemas.contract import AGENCIES, EXTRACTS_BY_NAME, ExtractSpec, extract_for_file

# what callers import from here (the assets, the tests, the benchmarks)
__all__ = [
    "Ingestor",
    "MonthReport",
    "Unit",
    "agency_months",
    "ignored_ledger",
    "ingest_landing_zone",
    "fanout_for",
    "forget_listings",
    "ingest_unit",
    "landing_month_folders",
    "landing_months",
    "plan_units",
    "run_listings",
    "specs_of",
    "unknown_files",
    "write_inventory",
    "write_reference",
]

log = logging.getLogger(__name__)


FILES_PER_BATCH = 500  # files read and validated together (of any months): bounds memory
# landing files whose months' ledger is read and compared at once: bounds memory at any history and districts
LEDGER_FILES_PER_READ = 10_000
# fewer changed files in a unit: read in its own process (a pool costs seconds to start, once per run)
PARALLEL_MIN_FILES = 500


@dataclass
class Ingestor:
    sources: Path
    lake: Lake
    reference: Reference
    key: bytes
    run_id: str = "manual"
    on_file: Callable[[], None] | None = None  # called once per landing file looked at (progress)
    on_total: Callable[[int], None] | None = None  # called with how many landing files ingest() looks at
    workers: int = 1  # processes reading and validating changed files (the parent writes the lake)
    parallel_min_files: int = PARALLEL_MIN_FILES  # fewer changed files than this: no process pool
    pooled_chunks: int = 0  # how many chunks went through a process pool (for tests and logs)
    # the month folders' listings, shared by a run's units (run_listings); None: every call lists afresh
    listings: dict | None = None

    @property
    def key_fp(self) -> str:
        return key_fingerprint(self.key)

    def _entries(
        self, specs: tuple[ExtractSpec, ...], month: str, segment: str | None = None
    ) -> list[tuple[str, list[ExtractSpec], str]]:
        """The landing files of an agency's month that feed ``specs`` (of one segment, if given), by name,
        each with the extracts it feeds (of ``specs``, in their order) and its segment, sorted by name (names,
        not paths: a province's ten years are a few hundred thousand of them)."""
        agency = specs[0].agency
        folder = self.sources / agency / month
        if not (landing.is_delivery_dir(self.sources / agency) and landing.is_delivery_dir(folder)):
            return []
        by_segment = self._listing(agency, month, folder)
        entries = (
            by_segment.get(segment, [])
            if segment is not None
            else sorted((e for listed in by_segment.values() for e in listed), key=lambda e: e[0])
        )
        out = []
        for name, kinds, seg in entries:
            if mine := [s for s in specs if s.name in kinds]:
                out.append((name, mine, seg))
        return out

    def _listing(
        self, agency: str, month: str, folder: Path
    ) -> dict[str, list[tuple[str, frozenset[str], str]]]:
        """segment -> (name, extracts it feeds, segment) of the deliveries in an agency's month folder,
        sorted by name: regular files the contract names (a link, a FIFO or a device is listed as ignored:
        unknown_files). One listing of the folder per run when ``listings`` is shared by the run's units
        (:func:`run_listings`): a province's month folder holds every district's files, and each of the
        districts' units would otherwise list and classify them all."""
        key = (str(self.sources), self.reference.fingerprint, agency, month)
        if self.listings is not None and key in self.listings:
            return self.listings[key]
        by_segment: dict[str, list[tuple[str, frozenset[str], str]]] = {}
        for entry in os.scandir(folder):
            kinds = frozenset(k.name for k in extract_for_file(agency, entry.name))
            if kinds and entry.is_file(follow_symlinks=False) and not landing.name_problem(entry.name):
                seg = district_of_name(agency, entry.name, self.reference)
                by_segment.setdefault(seg, []).append((entry.name, kinds, seg))
        for listed in by_segment.values():
            listed.sort(key=lambda e: e[0])
        if self.listings is not None:
            self.listings[key] = by_segment
        return by_segment

    def ingest(
        self,
        specs: tuple[ExtractSpec, ...],
        months: str | Sequence[str],
        segment: str | None = None,
        withdraw: bool = True,
    ) -> MonthReport:
        """Bring the lake's segments of ``specs`` for ``months`` in line with the landing zone.

        The months go in batches of about ``LEDGER_FILES_PER_READ`` landing files: each batch's ledger is
        read at once, its files hashed and compared with it, and its changed files read and validated
        many at a time (``FILES_PER_BATCH``), in chunks of whole (month, segment) groups: each
        (extract, month, segment) they touch is rewritten once, by the chunk's process. So memory is
        bounded by a batch and a chunk, not by the history or the districts.
        With ``segment``, only the landing files of that segment (one work unit's share, see
        :func:`plan_units`); withdrawn and moved files are then left to :meth:`withdraw` (the plan's), as
        they are with ``withdraw=False`` (a unit of every segment, after the plan).
        """
        months = [months] if isinstance(months, str) else list(months)
        agency = specs[0].agency
        report = MonthReport()
        # withdrawals and moves first, as the plan step does before the units
        if segment is None and withdraw:
            self.withdraw(specs, months, report)
        listed = [(month, self._entries(specs, month, segment)) for month in months]
        if self.on_total:
            self.on_total(sum(len(entries) for _month, entries in listed))
        for batch in _batches(listed):
            todo: list[tuple[str, Path, str, list[ExtractSpec]]] = []
            exists: dict[tuple[str, str, str, str], bool] = {}  # a segment's files, looked at once
            # the ledger of the listed files' segments (the unit's own: never another unit's), in one read
            ledgers = self.lake.ledger_months(
                [
                    (spec.name, month, {seg for *_x, seg in entries})
                    for month, entries in batch
                    for spec in specs
                ]
            )
            for month, entries in batch:
                ledger = {spec.name: ledgers[(spec.name, month)] for spec in specs}
                folder = self.sources / agency / month
                for name, mine, _seg in entries:
                    report.files_seen += 1
                    if self.on_file:
                        self.on_file()
                    rel, path = f"{agency}/{month}/{name}", folder / name
                    try:
                        sha = file_sha256(path)
                    except OSError as exc:  # swapped for a link or a FIFO since the listing, or gone
                        log.error("%s: not read (%s); the next run lists it", rel, exc)
                        report.files_seen -= 1
                        continue
                    known = [(spec, ledger[spec.name].get(rel)) for spec in mine]
                    if all(self._unchanged(spec, month, seen, sha, exists=exists) for spec, seen in known):
                        report.files_unchanged += 1
                        continue
                    if all(
                        self._unchanged(spec, month, seen, sha, ignore_key=True, exists=exists)
                        for spec, seen in known
                    ):
                        report.files_rekeyed += 1
                    todo.append((month, path, sha, mine))
            for chunk_report in self._ingest_chunks(todo):
                report.add(chunk_report)
        return report

    def _ingest_chunks(self, todo: list):
        """The reports of the changed files' chunks, in order.

        A chunk holds whole (month, segment) groups of files, so that it can write its segments
        itself: with several workers and enough files, the chunks are read, validated and written
        in a pool of processes (spawned: polars does not survive a fork), ``workers`` at a time.
        Chunks touch disjoint segments, each rewritten whole and sorted, so the lake is the one
        worker's, bit for bit.
        """
        workers = max(1, self.workers)
        if workers == 1 or len(todo) < self.parallel_min_files:
            for chunk in self._segment_chunks(todo, FILES_PER_BATCH):
                yield self._ingest_chunk(chunk)
            return
        import math

        size = max(1, min(FILES_PER_BATCH, math.ceil(len(todo) / (workers * 2))))
        chunks = self._segment_chunks(todo, size)
        self.pooled_chunks += len(chunks)
        pool = ingest_pool.get(
            Ingestor, workers, self.sources, self.lake, self.reference, self.key, self.run_id
        )
        yield from pool.map(ingest_pool.worker_ingest, chunks)

    def _segment_chunks(self, todo: list, size: int) -> list[list]:
        """``todo`` in chunks of about ``size`` files, never splitting a (month, segment) group."""
        groups: dict[tuple[str, str], list] = {}
        for item in todo:
            groups.setdefault((item[0], self.segment_of(item[1])), []).append(item)
        chunks: list[list] = [[]]
        for group in groups.values():
            if chunks[-1] and len(chunks[-1]) + len(group) > size:
                chunks.append([])
            chunks[-1].extend(group)
        return [c for c in chunks if c]

    def _ingest_chunk(self, files: list) -> MonthReport:
        """Read, validate and write a chunk of whole (month, segment) groups of changed files."""
        report, batch = chunk.read_and_validate(self, files)
        self._commit(batch, {month for month, *_rest in files})
        return report

    def segment_of(self, path: Path) -> str:
        """The lake segment a landing file's rows go to: its work unit's district (see lake.py)."""
        return district_of(path.relative_to(self.sources).parts[0], path, self.reference)

    def withdraw(
        self, specs: tuple[ExtractSpec, ...], months: str | Sequence[str], report: MonthReport
    ) -> None:
        """The files of ``months`` no longer in the landing zone leave the lake; so do the rows of files
        now belonging to another segment (a hospital whose township moved to another district): the
        unit of their new segment ingests them again. Run before the units, which read only their
        own segments' ledger. The ledger is read a batch of months at a time (``_batches``)."""
        months = [months] if isinstance(months, str) else list(months)
        listed = [(month, self._entries(specs, month)) for month in months]
        for batch in _batches(listed):
            ledgers = self.lake.ledger_months(
                [(spec.name, month, None) for month, _e in batch for spec in specs]
            )
            for month, entries in batch:
                self._withdraw_month(specs, month, entries, ledgers, report)

    def _withdraw_month(
        self, specs: tuple[ExtractSpec, ...], month: str, entries: list, ledgers: dict, report: MonthReport
    ) -> None:
        """:meth:`withdraw` of one month, given its landing entries and its ledger."""
        present = {f"{specs[0].agency}/{month}/{name}": seg for name, _mine, seg in entries}
        batch = SegmentBatch()
        gone = 0  # (file, extract) pairs, as the ledger counts them
        for spec in specs:
            for rel, (segment, _row) in sorted(ledgers[(spec.name, month)].items()):
                if rel not in present:
                    log.warning("%s: source file withdrawn; its rows leave the lake (%s)", rel, spec.name)
                    batch.drop(spec.name, month, segment, rel)
                    gone += 1
                elif present[rel] != segment:
                    log.warning(
                        "%s: now in segment %s, no longer %s (%s)", rel, present[rel], segment, spec.name
                    )
                    batch.drop(spec.name, month, segment, rel)
        self._commit(batch, {month})
        report.files_removed += gone

    def _commit(self, batch: SegmentBatch, months: set[str]) -> None:
        """Rewrite every segment of ``months`` the batch touches (data, quarantine, names, then the ledger).

        The (extract, month) pairs are recorded for the run first (``Lake.record_changes``): a run
        killed after this still leaves a record at least as large as what it changed.
        """
        self.lake.record_changes(self.run_id, {(k[0], k[1]) for k in batch.parts if k[1] in months})
        for key in sorted(k for k in batch.parts if k[1] in months):
            extract, month, segment = key
            part = batch.parts.pop(key)
            self.lake.replace(
                EXTRACTS_BY_NAME[extract],
                month,
                segment,
                part.drop,
                part.entries,
                concat(part.loaded),
                concat(part.quarantined),
                concat(part.names),
            )
            failpoint("ingest")

    # ---------------------------------------------------------------- a batch of files of any months

    def _unchanged(
        self,
        spec: ExtractSpec,
        month: str,
        seen: tuple[str, dict] | None,
        sha: str,
        ignore_key: bool = False,
        exists: dict[tuple[str, str, str, str], bool] | None = None,
    ) -> bool:
        if seen is None:
            return False
        segment, e = seen
        same = (
            e["sha256"] == sha
            and (ignore_key or e["key_fingerprint"] == self.key_fp)
            and e["reference_fingerprint"] == self.reference.fingerprint
            and e["code_fingerprint"] == code_fingerprint()
        )
        if not same:
            return False
        # the segments the ledger promises must be there (a killed run or a hand may have lost them)
        exists = {} if exists is None else exists

        def there(area: str) -> bool:  # keyed by names: a Path per file and look costs more than the look
            key = (area, spec.name, month, segment)
            if key not in exists:
                path = self.lake.data_path if area == "lake" else self.lake.quarantine_path
                exists[key] = path(spec.name, month, segment).exists()
            return exists[key]

        if e["rows_loaded"] and not there("lake"):
            return False
        return not (e["rows_quarantined"] and not there("quarantine"))


def _batches(listed: list[tuple[str, list]], size: int | None = None) -> list[list[tuple[str, list]]]:
    """(month, entries) in runs of whole months of about ``size`` entries (at least one month each)."""
    size = size or LEDGER_FILES_PER_READ
    out: list[list[tuple[str, list]]] = [[]]
    count = 0
    for month, entries in listed:
        if out[-1] and count + len(entries) > size:
            out.append([])
            count = 0
        out[-1].append((month, entries))
        count += len(entries)
    return [batch for batch in out if batch]


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


def ingest_unit(ingestor: Ingestor, unit: Unit) -> MonthReport:
    """Ingest one unit's files (hash-compared with the ledger: unchanged files are not read again)."""
    report = MonthReport()
    specs = specs_of(unit.agency)
    # a unit of every district reads every segment's files; the plan step has done the withdrawals
    segment = None if unit.district == ALL else unit.district
    report.add(ingestor.ingest(specs, unit.months, segment=segment, withdraw=False))
    return report


def ingest_landing_zone(
    sources: Path, lake: Lake, key: bytes, run_id: str = "manual", workers: int | None = None
) -> MonthReport:
    """Everything the ingestion assets do, without Dagster: for tests, benchmarks and `dbt build` on its own.

    ``workers``: processes reading and validating (default ``PFPW_WORKERS``, else the cores).
    """
    from dagster_project import settings

    lake.ensure_layout()
    reference = load_reference(sources)
    write_reference(lake, reference)
    write_inventory(sources, lake, run_id)
    ingestor = Ingestor(
        sources,
        lake,
        reference,
        key,
        run_id,
        workers=workers or settings.current().workers,
        listings={},  # each month folder listed once, for the withdrawals and the ingestion alike
    )
    total = MonthReport()
    for agency in AGENCIES:
        total.add(ingestor.ingest(specs_of(agency), agency_months(sources, lake, agency)))
    lake.consolidate()
    return total
