"""Ingesting an agency's extracts, or one work unit's share of them: read, validate, pseudonymise,
store in the lake's segments (lake.py), account in the ledger.

Pure Python over paths (no Dagster here), so tests and benchmarks can call it
directly and the Dagster assets stay thin.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dagster_project import landing
from dagster_project.failpoints import failpoint
from dagster_project.ingest import readers
from dagster_project.ingest.readers import NAMES, FileRejected, RawBatch, RawRows
from dagster_project.ingest.validate import BatchContext, validate
from dagster_project.lake import Lake, file_sha256
from dagster_project.pii import key_fingerprint, name_fingerprint
from dagster_project.reference import Reference, load_reference
from dagster_project.schemas.contract import (
    AGENCIES,
    EXTRACTS,
    EXTRACTS_BY_NAME,
    HOSPITAL_FILE_RE,
    MONTH_RE,
    REFERENCE_TABLES,
    TOWNSHIP_FILE_RE,
    ExtractSpec,
    extract_for_file,
)

log = logging.getLogger(__name__)


def _code_fingerprint() -> str:
    """Changes whenever the reading or validation code changes: such a change re-ingests everything."""
    here = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for rel in (
        "schemas/contract.py",
        "ingest/readers.py",
        "ingest/validate.py",
        "ingest/parse.py",
        "ingest/workbook.py",
        "landing.py",
        "pii.py",
    ):
        h.update((here / rel).read_bytes())
    return h.hexdigest()[:16]


CODE_FINGERPRINT = _code_fingerprint()


FILES_PER_BATCH = 500  # files read and validated together (of any months): bounds memory
# fewer changed files in a unit: read in its own process (a pool costs seconds to start, once per run)
PARALLEL_MIN_FILES = 500


@dataclass
class MonthReport:
    """What one (agency group, month) ingestion did, for logs, Dagster metadata and the CLI summary."""

    files_seen: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_rekeyed: int = 0  # re-ingested only because the PII key changed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    per_extract: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: MonthReport) -> None:
        for name in (
            "files_seen",
            "files_ingested",
            "files_unchanged",
            "files_removed",
            "files_rekeyed",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.extend(other.rejected)
        for ext, counts in other.per_extract.items():
            mine = self.per_extract.setdefault(ext, {"read": 0, "loaded": 0, "quarantined": 0})
            for k, v in counts.items():
                mine[k] += v


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

    @property
    def key_fp(self) -> str:
        return key_fingerprint(self.key)

    def month_files(
        self, specs: tuple[ExtractSpec, ...], month: str, segment: str | None = None
    ) -> list[tuple[Path, list[ExtractSpec]]]:
        """The landing files of an agency's month that feed ``specs`` (of one segment, if given), each
        with the extracts it feeds (of ``specs``, in their order), sorted. One listing of the folder for
        every extract, by name: a province's month folder holds every district's files, and each of
        its units looks at them all."""
        agency = specs[0].agency
        folder = self.sources / agency / month
        if not (landing.is_delivery_dir(self.sources / agency) and landing.is_delivery_dir(folder)):
            return []
        out = []
        names = {s.name for s in specs}
        for entry in os.scandir(folder):
            if segment is not None and district_of_name(agency, entry.name, self.reference) != segment:
                continue
            kinds = {k.name for k in extract_for_file(agency, entry.name)} & names
            # regular files only (a link, a FIFO or a device is listed as ignored: unknown_files)
            if kinds and entry.is_file(follow_symlinks=False) and not landing.name_problem(entry.name):
                out.append((Path(entry.path), [s for s in specs if s.name in kinds]))
        return sorted(out, key=lambda item: item[0])

    def ingest(
        self,
        specs: tuple[ExtractSpec, ...],
        months: str | Sequence[str],
        segment: str | None = None,
    ) -> MonthReport:
        """Bring the lake's segments of ``specs`` for ``months`` in line with the landing zone.

        Changed files are read and validated many at a time, across months (``FILES_PER_BATCH``),
        in chunks of whole (month, segment) groups: each (extract, month, segment) they touch is
        rewritten once, by the chunk's process, so memory is bounded by a chunk, not by the history.
        With ``segment``, only the landing files of that segment (one work unit's share, see
        :func:`plan_units`); withdrawn and moved files are then left to :meth:`withdraw` (the plan's).
        """
        months = [months] if isinstance(months, str) else list(months)
        report = MonthReport()
        if segment is None:  # withdrawals and moves first, as the plan step does before the units
            self.withdraw(specs, months, report)
        todo: list[tuple[str, Path, str, list[ExtractSpec]]] = []
        exists: dict[Path, bool] = {}  # a segment's files, looked at once for all its landing files
        listings = [(month, self.month_files(specs, month, segment)) for month in months]
        if self.on_total:
            self.on_total(sum(len(listing) for _month, listing in listings))
        # the ledger of the listed files' segments (the unit's own: never another unit's), in one read
        ledgers = self.lake.ledger_months(
            [
                (spec.name, month, {self.segment_of(p) for p, _mine in listing})
                for month, listing in listings
                for spec in specs
            ]
        )
        for month, listing in listings:
            ledger = {spec.name: ledgers[(spec.name, month)] for spec in specs}
            for path, mine in listing:
                report.files_seen += 1
                if self.on_file:
                    self.on_file()
                rel = path.relative_to(self.sources).as_posix()
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
        pool = _pool(workers, self.sources, self.lake, self.reference, self.key, self.run_id)
        yield from pool.map(_worker_ingest, chunks)

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
        report, batch = self._ingest_files(files)
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
        own segments' ledger. The ledger of all the months is read at once."""
        months = [months] if isinstance(months, str) else list(months)
        ledgers = self.lake.ledger_months([(spec.name, month, None) for month in months for spec in specs])
        for month in months:
            present = {
                p.relative_to(self.sources).as_posix(): self.segment_of(p)
                for p, _mine in self.month_files(specs, month)
            }
            batch = _SegmentBatch()
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

    def _commit(self, batch: _SegmentBatch, months: set[str]) -> None:
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
                _concat(part.loaded),
                _concat(part.quarantined),
                _concat(part.names),
            )
            failpoint("ingest")

    # ---------------------------------------------------------------- a batch of files of any months
    def _ingest_files(
        self, files: list[tuple[str, Path, str, list[ExtractSpec]]]
    ) -> tuple[MonthReport, _SegmentBatch]:
        """Read, validate and pseudonymise a chunk of changed files: what their segments receive."""
        report, batch = MonthReport(), _SegmentBatch()
        ctx = BatchContext(self.reference.townships, self.reference.villages)
        raws: dict[str, RawBatch] = {}
        outcome: dict[tuple[str, str], str | int | None] = {}  # (file, extract) -> reason | rows read | None
        segment_map = {
            path.relative_to(self.sources).as_posix(): self.segment_of(path) for _m, path, *_x in files
        }
        for month, path, _sha, specs in files:
            rel = path.relative_to(self.sources).as_posix()
            report.files_ingested += 1
            got_all, township, hospital = self._read(path, specs)
            for spec, got in got_all.items():
                if got is None or isinstance(got, str):
                    outcome[(rel, spec)] = got
                    continue
                fields = [f.name for f in EXTRACTS_BY_NAME[spec].fields]
                raws.setdefault(spec, RawBatch(fields)).add(got, (rel, month, township, hospital))
                outcome[(rel, spec)] = got.height
        counts_of: dict[tuple[str, str], tuple[int, int]] = {}  # (file, extract) -> (loaded, quarantined)
        for spec_name, raw_batch in raws.items():
            spec = EXTRACTS_BY_NAME[spec_name]
            raw = raw_batch.frame()
            # personal names go no further than this: only their keyed fingerprints are kept
            self._add_by_segment(batch, spec, self._name_fingerprints(raw), segment_map, "names")
            split = validate(spec, raw.drop(NAMES), ctx, self.key)
            loaded_n = dict(split.loaded.group_by("source_file").len().iter_rows())
            quarantined_n = dict(split.quarantined.group_by("source_file").len().iter_rows())
            for _month, path, _sha, specs in files:
                if spec in specs:
                    rel = path.relative_to(self.sources).as_posix()
                    counts_of[(rel, spec_name)] = (loaded_n.get(rel, 0), quarantined_n.get(rel, 0))
            self._add_by_segment(batch, spec, split.loaded, segment_map, "loaded")
            self._add_by_segment(batch, spec, split.quarantined, segment_map, "quarantined")
        now = dt.datetime.now(dt.UTC)
        for month, path, sha, specs in files:
            rel = path.relative_to(self.sources).as_posix()
            segment = segment_map[rel]
            for spec in specs:
                got = outcome[(rel, spec.name)]
                reason = got if isinstance(got, str) else None
                rows_read = got if isinstance(got, int) else 0
                loaded, quarantined = counts_of.get((rel, spec.name), (0, 0))
                batch.part(spec, month, segment).entries.append(
                    {
                        "source_file": rel,
                        "agency": spec.agency,
                        "extract": spec.name,
                        "reporting_month": month,
                        "sha256": sha,
                        "size_bytes": path.lstat().st_size,
                        "rows_read": rows_read,
                        "rows_loaded": loaded,
                        "rows_quarantined": quarantined,
                        "status": "rejected" if reason else "loaded",
                        "reason": reason
                        if reason or got is not None
                        else f"optional sheet {spec.sheet} not in the workbook",
                        "run_id": self.run_id,
                        "ingested_at": now,
                        "delivered_at": delivered_at(path),
                        "key_fingerprint": self.key_fp,
                        "reference_fingerprint": self.reference.fingerprint,
                        "code_fingerprint": CODE_FINGERPRINT,
                    }
                )
                report.rows_read += rows_read
                report.rows_loaded += loaded
                report.rows_quarantined += quarantined
                counts = report.per_extract.setdefault(spec.name, {"read": 0, "loaded": 0, "quarantined": 0})
                counts["read"] += rows_read
                counts["loaded"] += loaded
                counts["quarantined"] += quarantined
                if reason:
                    log.error("%s: rejected (%s): %s", rel, spec.name, reason)
                    if (rel, reason) not in report.rejected:
                        report.rejected.append((rel, reason))
                elif quarantined:
                    log.warning("%s: %d row(s) of %s quarantined", rel, quarantined, spec.name)
        return report, batch

    def _name_fingerprints(self, raw: pl.DataFrame) -> pl.DataFrame:
        """(source_file, reporting_month, fingerprint): each file's distinct names, keyed, in a fixed order."""
        pairs = raw.select("source_file", "file_month", NAMES).drop_nulls(NAMES).unique()
        keyed = {n: name_fingerprint(n, self.key) for n in pairs[NAMES].unique().to_list()}
        return (
            pairs.select(
                "source_file",
                pl.col("file_month").alias("reporting_month"),
                pl.col(NAMES).replace_strict(keyed, return_dtype=pl.Utf8).alias("fingerprint"),
            )
            .unique()
            .sort("source_file", "fingerprint")
        )

    @staticmethod
    def _add_by_segment(
        batch: _SegmentBatch, spec: ExtractSpec, frame: pl.DataFrame, segment_map: dict[str, str], area: str
    ) -> None:
        """A validated frame's rows to the segments of their source files (a frame spans a chunk of files)."""
        if not frame.height:
            return
        segments = frame["source_file"].replace_strict(segment_map, return_dtype=pl.Utf8)
        for (month, segment), part in frame.with_columns(segments.alias("_segment")).group_by(
            "reporting_month", "_segment", maintain_order=True
        ):
            getattr(batch.part(spec, month, segment), area).append(part.drop("_segment"))

    def _unchanged(
        self,
        spec: ExtractSpec,
        month: str,
        seen: tuple[str, dict] | None,
        sha: str,
        ignore_key: bool = False,
        exists: dict[Path, bool] | None = None,
    ) -> bool:
        if seen is None:
            return False
        segment, e = seen
        same = (
            e["sha256"] == sha
            and (ignore_key or e["key_fingerprint"] == self.key_fp)
            and e["reference_fingerprint"] == self.reference.fingerprint
            and e["code_fingerprint"] == CODE_FINGERPRINT
        )
        if not same:
            return False
        # the segments the ledger promises must be there (a killed run or a hand may have lost them)
        exists = {} if exists is None else exists

        def there(path: Path) -> bool:
            if path not in exists:
                exists[path] = path.exists()
            return exists[path]

        if e["rows_loaded"] and not there(self.lake.data_path(spec.name, month, segment)):
            return False
        return not (e["rows_quarantined"] and not there(self.lake.quarantine_path(spec.name, month, segment)))

    def _read(
        self, path: Path, specs: list[ExtractSpec]
    ) -> tuple[dict[str, RawRows | pl.DataFrame | str | None], str | None, str | None]:
        """Per extract: the raw rows, a rejection reason, or None (optional sheet absent); and the
        township or hospital the file is named for."""
        agency = specs[0].agency
        township = hospital = None
        try:
            if agency == "township":
                township = TOWNSHIP_FILE_RE.fullmatch(path.name)["code"]
                if township not in self.reference.townships:
                    raise FileRejected(
                        f"workbook named for township {township}, which is not in reference/townships.csv"
                    )
            elif agency == "hospital":
                hospital = HOSPITAL_FILE_RE.fullmatch(path.name)["code"]
                if hospital not in self.reference.hospitals:
                    raise FileRejected(
                        f"file named for hospital {hospital}, which is not in reference/hospitals.csv"
                    )
            raws = read_delivery(path, specs)
        except FileRejected as exc:
            return {spec.name: str(exc) for spec in specs}, township, hospital
        return raws, township, hospital


def read_delivery(path: Path, specs: list[ExtractSpec]) -> dict[str, RawRows | pl.DataFrame | None]:
    """Per extract, the raw rows of one delivered file, read within bounds.

    Whatever the file's bytes, reading it ends in rows or in ``FileRejected`` with the reason: the
    file is opened only if it is a regular file (no link, no FIFO), at most ``PFPW_MAX_FILE_BYTES``
    long; a workbook is checked before the xlsx reader sees it (ingest/workbook.py); and any error
    a reader raises (a recursion, a reader's panic, memory) is this file's rejection, never the run's.
    """
    from dagster_project import settings

    agency = specs[0].agency
    try:
        data = landing.read_bytes(path, settings.max_file_bytes())
        if agency == "township":
            wb = readers.open_workbook(data, settings.max_workbook_cells())
            return {spec.name: readers.read_sheet(wb, spec) for spec in specs}
        if agency == "hospital":
            return {spec.name: readers.read_csv(data, spec, "gbk") for spec in specs}
        if agency == "finance":
            return {spec.name: readers.read_csv(data, spec, "utf-8-sig") for spec in specs}
        return {spec.name: readers.read_jsonl(data, spec) for spec in specs}
    except FileRejected:
        raise
    except landing.NotADelivery as exc:
        raise FileRejected(str(exc)) from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except RecursionError:
        raise FileRejected("nested too deeply to be read") from None
    except MemoryError:
        raise FileRejected("too large to be read in memory") from None
    except BaseException as exc:  # a reader's panic (pyo3's PanicException is a BaseException) or bug
        first = (str(exc).splitlines() or [""])[0][:200]
        log.exception("%s: the reader failed", path.name)
        raise FileRejected(f"the reader failed on this file ({type(exc).__name__}: {first})") from None


@dataclass
class _SegmentPart:
    """What one lake segment of one extract receives in a commit."""

    drop: set[str] = field(default_factory=set)  # source files whose rows leave the segment
    entries: list[dict] = field(default_factory=list)  # ledger rows of the files (re)ingested into it
    loaded: list[pl.DataFrame] = field(default_factory=list)
    quarantined: list[pl.DataFrame] = field(default_factory=list)
    names: list[pl.DataFrame] = field(default_factory=list)


@dataclass
class _SegmentBatch:
    """What an ingestion changes, per (extract, month, segment): each segment is rewritten once."""

    parts: dict[tuple[str, str, str], _SegmentPart] = field(default_factory=dict)

    def part(self, spec: ExtractSpec | str, month: str, segment: str) -> _SegmentPart:
        name = spec if isinstance(spec, str) else spec.name
        return self.parts.setdefault((name, month, segment), _SegmentPart())

    def drop(self, extract: str, month: str, segment: str, rel: str) -> None:
        self.part(extract, month, segment).drop.add(rel)


_WORKER: Ingestor | None = None
_POOL: tuple[tuple, object] | None = None  # (what its workers were started with, the pool)


def _pool(workers: int, sources: Path, lake: Lake, reference: Reference, key: bytes, run_id: str):
    """The process pool of this process, started once per run and kept for all its units (a spawned
    worker costs seconds to import polars and pandera); another run, key or reference starts a new one."""
    global _POOL
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ident = (workers, str(sources), str(lake.root), reference.fingerprint, key, run_id)
    if _POOL is not None and _POOL[0] == ident:
        return _POOL[1]
    shutdown_pool()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),  # polars does not survive a fork
        initializer=_worker_init,
        # small arguments, so that starting a worker never waits for the one before (a worker
        # loads the reference itself and refuses another than the parent's)
        initargs=(sources, lake.root, reference.fingerprint, key, run_id),
    )
    _POOL = (ident, pool)
    return pool


def shutdown_pool() -> None:
    """Stop this process's reading workers (at exit, or when a run needs other ones)."""
    global _POOL
    if _POOL is not None:
        _POOL[1].shutdown(cancel_futures=True)
        _POOL = None


atexit.register(shutdown_pool)


def _worker_init(sources: Path, warehouse: Path, reference_fingerprint: str, key: bytes, run_id: str) -> None:
    global _WORKER
    reference = load_reference(sources)
    if reference.fingerprint != reference_fingerprint:
        raise RuntimeError(f"{sources}/reference changed while the run was ingesting: run again")
    _WORKER = Ingestor(sources, Lake(warehouse), reference, key, run_id)


def _worker_ingest(chunk: list) -> MonthReport:
    assert _WORKER is not None
    return _WORKER._ingest_chunk(chunk)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    return pl.concat(frames, how="vertical") if frames else None


# -------------------------------------------------------------------- work units


@dataclass(frozen=True)
class Unit:
    """One step's share of an agency's ingestion: the files of one district (township and hospital
    files name their township; court and finance files cover every district: ``all``) in some months.

    Units touch disjoint lake files, so Dagster's executors run them side by side: in processes
    (multiprocess) or in pods (k8s). ``key`` is the step's mapping key.
    """

    agency: str
    district: str
    months: tuple[str, ...]

    @property
    def key(self) -> str:
        if len(self.months) == 1:
            return f"{self.district}_{self.months[0].replace('-', '_')}"
        return self.district


def district_of(agency: str, path: Path, reference: Reference) -> str:
    """The district a landing file belongs to (``all`` for the court's and finance's district-wide files)."""
    return district_of_name(agency, path.name, reference)


def district_of_name(agency: str, name: str, reference: Reference) -> str:
    """:func:`district_of` by the file's name alone."""
    if agency == "township":
        m = TOWNSHIP_FILE_RE.fullmatch(name)
        return m["code"][:6] if m else "unassigned"
    if agency == "hospital":
        m = HOSPITAL_FILE_RE.fullmatch(name)
        township = reference.hospital_townships.get(m["code"]) if m else None
        return township[:6] if township else "unassigned"
    return "all"


def plan_units(sources: Path, agency: str, reference: Reference, fanout: str = "district") -> list[Unit]:
    """The work units of an agency's landing files: per district, or per district and month."""
    from dagster_project.settings import FANOUTS

    if fanout not in FANOUTS:
        raise ValueError(f"unknown ingestion fan-out {fanout!r}: one of {', '.join(FANOUTS)}")
    months_of: dict[str, set[str]] = defaultdict(set)
    specs = specs_of(agency)
    for month in landing_months(sources, (agency,)):
        folder = sources / agency / month
        for entry in os.scandir(folder):
            if (
                entry.is_file(follow_symlinks=False)
                and not landing.name_problem(entry.name)
                and any(s in extract_for_file(agency, entry.name) for s in specs)
            ):
                months_of[district_of_name(agency, entry.name, reference)].add(month)
    if fanout == "district":
        return [Unit(agency, d, tuple(sorted(m))) for d, m in sorted(months_of.items())]
    return [Unit(agency, d, (month,)) for d, m in sorted(months_of.items()) for month in sorted(m)]


def ingest_unit(ingestor: Ingestor, unit: Unit) -> MonthReport:
    """Ingest one unit's files (hash-compared with the ledger: unchanged files are not read again)."""
    report = MonthReport()
    specs = specs_of(unit.agency)
    report.add(ingestor.ingest(specs, unit.months, segment=unit.district))
    return report


# -------------------------------------------------------------------- the landing zone


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
    for path in inventory.files:
        rel = path.relative_to(sources)
        parts = rel.parts
        if parts[0] == "reference":
            if len(parts) != 2 or path.stem not in REFERENCE_TABLES or path.suffix != ".csv":
                found.append((rel.as_posix(), "not a reference table of the contract", None))
        elif parts[0] not in AGENCIES:
            found.append((rel.as_posix(), f"unknown folder {parts[0]}/", None))
        elif len(parts) != 3 or not MONTH_RE.fullmatch(parts[1]):
            found.append((rel.as_posix(), f"not in a {parts[0]}/<YYYY-MM>/ month folder", None))
        elif not extract_for_file(parts[0], parts[2]):
            found.append((rel.as_posix(), f"not a file name the contract names for {parts[0]}/", None))
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
                "code_fingerprint": CODE_FINGERPRINT,
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


def ingest_landing_zone(
    sources: Path, lake: Lake, key: bytes, run_id: str = "manual", workers: int | None = None
) -> MonthReport:
    """Everything the ingestion assets do, without Dagster: for tests, benchmarks and `dbt build` on its own.

    ``workers``: processes reading and validating (default ``PFPW_WORKERS``, else the cores).
    """
    from dagster_project.settings import workers as default_workers

    lake.ensure_layout()
    reference = load_reference(sources)
    write_reference(lake, reference)
    write_inventory(sources, lake, run_id)
    ingestor = Ingestor(sources, lake, reference, key, run_id, workers=workers or default_workers())
    total = MonthReport()
    for agency in AGENCIES:
        total.add(ingestor.ingest(specs_of(agency), agency_months(sources, lake, agency)))
    lake.consolidate()
    return total
