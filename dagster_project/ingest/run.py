"""Ingesting an agency's extracts, or one work unit's share of them: read, validate, pseudonymise,
store in the lake's segments (lake.py), account in the ledger.

Pure Python over paths (no Dagster here), so tests and benchmarks can call it
directly and the Dagster assets stay thin. The rooms: chunk.py (a chunk of files read and validated),
batch.py (reports and segment batches), pool.py (the reading workers), units.py (work units),
inventory.py (the landing zone's folders, ignored entries and the code's fingerprint).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster_project.digests import LandingDigests, for_warehouse
from dagster_project.failpoints import failpoint
from dagster_project.ingest import chunk, listings, seals
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
from dagster_project.ingest.listings import forget_listings, run_listings
from dagster_project.ingest.units import ALL, Unit, district_of, fanout_for, plan_units
from dagster_project.lake import Lake
from dagster_project.pii import key_fingerprint
from dagster_project.reference import Reference, load_reference
from dagster_project.schemas.contract import AGENCIES, EXTRACTS_BY_NAME, ExtractSpec

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
    _seals: dict | None = field(default=None, init=False, repr=False)  # ingest/seals.py, read once
    _sealed: dict[tuple[str, str], bool] = field(default_factory=dict, init=False, repr=False)

    def digests(self) -> LandingDigests:
        """The landing files' sha256 kept in the warehouse (digests.py): a file is read only if it changed."""
        return for_warehouse(self.sources, self.lake.root)

    def sealed(self, specs: tuple[ExtractSpec, ...], month: str) -> bool:
        """Whether an agency's month is as its seal says (ingest/seals.py): every file unchanged, none
        withdrawn or moved, so nothing of it is compared, read or withdrawn. Looked at once per Ingestor."""
        agency = specs[0].agency
        if (agency, month) not in self._sealed:
            if self._seals is None:
                self._seals = seals.load(self.lake)
            seal, held = self._seals.get(f"{agency}/{month}"), False
            if seal:
                digests, folder = self.digests(), str(self.sources / agency / month)
                try:
                    listed = [
                        (rel, [s.name for s in mine], seg, digests.sha256(f"{folder}/{name}", rel))
                        for name, mine, seg in self._entries(specs, month)
                        for rel in [f"{agency}/{month}/{name}"]
                    ]
                except OSError:  # gone, or swapped for a link, since the listing: the month is read
                    listed = None
                fingerprints = (self.key_fp, self.reference.fingerprint, code_fingerprint())
                held = listed is not None and seals.holds(self.lake, seal, specs, month, listed, fingerprints)
            self._sealed[(agency, month)] = held
        return self._sealed[(agency, month)]

    @property
    def key_fp(self) -> str:
        return key_fingerprint(self.key)

    def _entries(
        self, specs: tuple[ExtractSpec, ...], month: str, segment: str | None = None
    ) -> list[tuple[str, list[ExtractSpec], str]]:
        """:func:`listings.entries` of this ingestor's landing zone, reference and shared listings."""
        return listings.entries(self.sources, self.reference, self.listings, specs, month, segment)

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
        digests, open_months = self.digests(), []
        for month, entries in listed:
            # a seal covers every segment: a unit of one segment (the multiprocess executor's, 90 side by side
            # at a province) compares its own files instead of looking at all of them
            if entries and segment is None and self.sealed(specs, month):  # all unchanged: no ledger read
                report.files_seen += len(entries)
                report.files_unchanged += len(entries)
                for _entry in entries if self.on_file else ():
                    self.on_file()
            else:
                open_months.append((month, entries))
        for batch in _batches(open_months):
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
                        sha = digests.sha256(path, rel)
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
        listed = [(month, self._entries(specs, month)) for month in months if not self.sealed(specs, month)]
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
    lake.consolidate(seals.read_ledger_and_seal(lake), seals.read_quarantine(lake))
    return total
