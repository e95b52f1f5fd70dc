"""One chunk of changed files: read within bounds, validated, pseudonymised, made into what each lake
segment receives (the data, the quarantine, the names' fingerprints, the ledger rows). Called by the
Ingestor (ingest/run.py), in this process or in a reading worker (ingest/pool.py)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Protocol

import polars as pl

from dagster_project import landing
from dagster_project.ingest import readers
from dagster_project.ingest.batch import MonthReport, SegmentBatch
from dagster_project.ingest.inventory import code_fingerprint, delivered_at
from dagster_project.ingest.readers import NAMES, FileRejected, RawBatch, RawRows
from dagster_project.ingest.validate import BatchContext, validate
from dagster_project.pii import name_fingerprint
from dagster_project.reference import Reference
from dagster_project.schemas.contract import EXTRACTS_BY_NAME, HOSPITAL_FILE_RE, TOWNSHIP_FILE_RE, ExtractSpec

log = logging.getLogger("dagster_project.ingest.run")


class Ingestor(Protocol):
    """What a chunk needs of the ingestion that hands it files (``run.Ingestor``), named here so that this
    module does not import the one that imports it."""

    sources: Path
    reference: Reference
    key: bytes
    run_id: str

    @property
    def key_fp(self) -> str: ...

    def segment_of(self, path: Path) -> str: ...


def read_and_validate(
    ing: Ingestor, files: list[tuple[str, Path, str, list[ExtractSpec]]]
) -> tuple[MonthReport, SegmentBatch]:
    """Read, validate and pseudonymise a chunk of changed files: what their segments receive."""
    report, batch = MonthReport(), SegmentBatch()
    ctx = BatchContext(ing.reference.townships, ing.reference.villages)
    raws: dict[str, RawBatch] = {}
    outcome: dict[tuple[str, str], str | int | None] = {}  # (file, extract) -> reason | rows read | None
    segment_map = {path.relative_to(ing.sources).as_posix(): ing.segment_of(path) for _m, path, *_x in files}
    for month, path, _sha, specs in files:
        rel = path.relative_to(ing.sources).as_posix()
        report.files_ingested += 1
        got_all, township, hospital = read_file(ing, path, specs)
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
        add_by_segment(batch, spec, name_fingerprints(raw, ing.key), segment_map, "names")
        split = validate(spec, raw.drop(NAMES), ctx, ing.key)
        loaded_n = dict(split.loaded.group_by("source_file").len().iter_rows())
        quarantined_n = dict(split.quarantined.group_by("source_file").len().iter_rows())
        for _month, path, _sha, specs in files:
            if spec in specs:
                rel = path.relative_to(ing.sources).as_posix()
                counts_of[(rel, spec_name)] = (loaded_n.get(rel, 0), quarantined_n.get(rel, 0))
        add_by_segment(batch, spec, split.loaded, segment_map, "loaded")
        add_by_segment(batch, spec, split.quarantined, segment_map, "quarantined")
    now = dt.datetime.now(dt.UTC)
    for month, path, sha, specs in files:
        rel = path.relative_to(ing.sources).as_posix()
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
                    "run_id": ing.run_id,
                    "ingested_at": now,
                    "delivered_at": delivered_at(path),
                    "key_fingerprint": ing.key_fp,
                    "reference_fingerprint": ing.reference.fingerprint,
                    "code_fingerprint": code_fingerprint(),
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


def name_fingerprints(raw: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """(source_file, reporting_month, fingerprint): each file's distinct names, keyed, in a fixed order."""
    pairs = raw.select("source_file", "file_month", NAMES).drop_nulls(NAMES).unique()
    keyed = {n: name_fingerprint(n, key) for n in pairs[NAMES].unique().to_list()}
    return (
        pairs.select(
            "source_file",
            pl.col("file_month").alias("reporting_month"),
            pl.col(NAMES).replace_strict(keyed, return_dtype=pl.Utf8).alias("fingerprint"),
        )
        .unique()
        .sort("source_file", "fingerprint")
    )


def add_by_segment(
    batch: SegmentBatch, spec: ExtractSpec, frame: pl.DataFrame, segment_map: dict[str, str], area: str
) -> None:
    """A validated frame's rows to the segments of their source files (a frame spans a chunk of files)."""
    if not frame.height:
        return
    segments = frame["source_file"].replace_strict(segment_map, return_dtype=pl.Utf8)
    for (month, segment), part in frame.with_columns(segments.alias("_segment")).group_by(
        "reporting_month", "_segment", maintain_order=True
    ):
        getattr(batch.part(spec, month, segment), area).append(part.drop("_segment"))


def read_file(
    ing: Ingestor, path: Path, specs: list[ExtractSpec]
) -> tuple[dict[str, RawRows | pl.DataFrame | str | None], str | None, str | None]:
    """Per extract: the raw rows, a rejection reason, or None (optional sheet absent); and the
    township or hospital the file is named for."""
    agency = specs[0].agency
    township = hospital = None
    try:
        if agency == "township":
            township = TOWNSHIP_FILE_RE.fullmatch(path.name)["code"]
            if township not in ing.reference.townships:
                raise FileRejected(
                    f"workbook named for township {township}, which is not in reference/townships.csv"
                )
        elif agency == "hospital":
            hospital = HOSPITAL_FILE_RE.fullmatch(path.name)["code"]
            if hospital not in ing.reference.hospitals:
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

    bounds = settings.current()
    agency = specs[0].agency
    try:
        data = landing.read_bytes(path, bounds.max_file_bytes)
        if agency == "township":
            wb = readers.open_workbook(data, bounds.max_workbook_cells)
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
