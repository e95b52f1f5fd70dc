"""Where ingested data lives in the warehouse folder, and how it is replaced safely.

```
<warehouse>/lake/<extract>/month=YYYY-MM/<segment>.parquet             loaded rows, pseudonymised
<warehouse>/lake/<extract>/_empty.parquet                               the schema, so a glob always matches
<warehouse>/lake/reference/<table>.parquet                              master data
<warehouse>/{lake,quarantine,ledger}/targets/targets.parquet             reference/targets.csv (ingest/targets.py)
<warehouse>/quarantine/<extract>/month=YYYY-MM/<segment>.parquet        rejected rows with every reason
<warehouse>/ledger/<extract>/month=YYYY-MM/<segment>.parquet            one ledger row per (file, extract)
<warehouse>/pii/name_fingerprints/<extract>/month=YYYY-MM/<segment>.parquet
<warehouse>/ledger/_ignored.parquet                                      unknown files of the landing zone
<warehouse>/lake/_layout                                                 the layout version of the areas above
```

The lake is compacted per extract, month and *segment*: a segment holds every file of one
work unit's share of the month (a district's township workbooks or hospital files; ``all`` for
the court's and finance's district-wide files), with the source file as a column. Work units
touch disjoint segments, so Dagster's executors run them side by side without a merge step.

Replace-by-file stays exact: when files of a segment are re-delivered, corrected or withdrawn,
:meth:`Lake.replace` rewrites the segment without those files' rows and with their new ones, by
``os.replace`` of a fully written temporary file. The ledger segment is written last, so a run
killed half-way leaves ledger rows that do not match the landing zone, and the next run
replaces those files again.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from dagster_project import atomic
from dagster_project.ingest.validate import QUARANTINE_SCHEMA, lake_schema
from dagster_project.schemas.contract import EXTRACTS, ExtractSpec
from dagster_project.schemas.targets import TARGETS_EXTRACT
from dagster_project.state import file_sha256

__all__ = ["Lake", "file_sha256", "write_parquet_atomic"]

LEDGER_SCHEMA = {
    "source_file": pl.Utf8,
    "agency": pl.Utf8,
    "extract": pl.Utf8,
    "reporting_month": pl.Utf8,
    "sha256": pl.Utf8,
    "size_bytes": pl.Int64,
    "rows_read": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64,
    "status": pl.Utf8,  # loaded | rejected | ignored
    "reason": pl.Utf8,
    "run_id": pl.Utf8,
    "ingested_at": pl.Datetime("us", "UTC"),
    "delivered_at": pl.Datetime("us", "UTC"),  # the file's modification time in the landing zone
    "key_fingerprint": pl.Utf8,
    "reference_fingerprint": pl.Utf8,
    "code_fingerprint": pl.Utf8,
}
LANDING_MONTHS_SCHEMA = {"agency": pl.Utf8, "reporting_month": pl.Utf8}
# reference/targets.csv's valid rows, typed (the dbt source reference.targets)
TARGETS_SCHEMA = {
    "year": pl.Int32,
    "area_code": pl.Utf8,
    "indicator": pl.Utf8,
    "bound": pl.Utf8,
    "target": pl.Float64,
    "points": pl.Int32,
    "source_file": pl.Utf8,
    "source_row": pl.Int64,
}
TMP_SUFFIX = atomic.TMP_SUFFIX
# The version of the areas' layout: a warehouse written with another one is ingested again from the
# landing zone (1: one Parquet file per source file; 2: segments per extract, month and work unit).
LAYOUT_VERSION = "2"
AREAS = ("lake", "quarantine", "ledger", "pii")


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then os.replace: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temporary(path)
    # zstd level 1: as small as the default level for this data, in half the time
    df.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
    atomic.replace(tmp, path)
    atomic.fsync_dir(path.parent)


def _one_file_table(name: str) -> property:
    """A Lake's path of the lake table held in one file: <warehouse>/lake/<name>/<name>.parquet."""
    return property(lambda lake: lake.root / "lake" / name / f"{name}.parquet")


class Lake:
    def __init__(self, warehouse: Path):
        self.root = warehouse

    # ----------------------------------------------------------- paths
    def data_path(self, extract: str, month: str, segment: str) -> Path:
        return self.root / "lake" / extract / f"month={month}" / f"{segment}.parquet"

    def quarantine_path(self, extract: str, month: str, segment: str) -> Path:
        return self.root / "quarantine" / extract / f"month={month}" / f"{segment}.parquet"

    def ledger_path(self, extract: str, month: str, segment: str) -> Path:
        return self.root / "ledger" / extract / f"month={month}" / f"{segment}.parquet"

    def names_path(self, extract: str, month: str, segment: str) -> Path:
        """Keyed fingerprints of the personal names the segment's files held (for the privacy scan; never the names)."""
        return self.root / "pii" / "name_fingerprints" / extract / f"month={month}" / f"{segment}.parquet"

    def known_name_fingerprints(self, con: duckdb.DuckDBPyConnection, candidates: set[str]) -> set[str]:
        """Which of ``candidates`` are the fingerprint of a name ingestion saw (any segment's files).

        Asked of DuckDB on ``con``, which streams the files (a province has tens of thousands) and
        keeps only the matches: the fingerprints of the whole history are never held in memory (a
        set of them took 180 MB of the publication at 10 districts × 10 years, and grew with them)."""
        folder = self.root / "pii" / "name_fingerprints"
        paths = [str(p) for p in folder.rglob("*.parquet")] if folder.exists() else []
        if not paths or not candidates:
            return set()
        return {
            fingerprint
            for (fingerprint,) in con.execute(
                "select distinct fingerprint from read_parquet($paths) "
                "where fingerprint in (select unnest($candidates))",
                {"paths": paths, "candidates": sorted(candidates)},
            ).fetchall()
        }

    def reference_path(self, table: str) -> Path:
        return self.root / "lake" / "reference" / f"{table}.parquet"

    def targets_path(self, area: str = "lake") -> Path:
        """reference/targets.csv in an area: its loaded rows (lake), quarantined rows, or its ledger row."""
        return self.root / area / TARGETS_EXTRACT / f"{TARGETS_EXTRACT}.parquet"

    landing_months_path = _one_file_table("landing_months")
    delivery_status_path = _one_file_table("delivery_status")

    @property
    def ignored_path(self) -> Path:
        return self.root / "ledger" / "_ignored.parquet"

    def glob(self, area: str, extract: str) -> str:
        """The DuckDB glob of every Parquet file of an extract in an area (lake, quarantine, ledger)."""
        return str(self.root / area / extract / "**" / "*.parquet")

    # ----------------------------------------------------------- setup
    @property
    def layout_path(self) -> Path:
        return self.root / "lake" / "_layout"

    def ensure_layout(self) -> None:
        """Empty Parquet files with the fixed schemas, so globs never match nothing; clear stale temporaries.

        Extract data of another layout version is removed: the ledger then promises nothing, and
        every landing file is ingested again into this layout. Steps that prepare the lake at the
        same time (multiprocess) take turns.
        """
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".layout.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._ensure_layout()

    def _ensure_layout(self) -> None:
        marker = self.layout_path
        if not marker.exists() or marker.read_text().strip() != LAYOUT_VERSION:
            import shutil

            for spec in EXTRACTS:
                for area in ("lake", "quarantine", "ledger"):
                    shutil.rmtree(self.root / area / spec.name, ignore_errors=True)
            shutil.rmtree(self.root / "pii" / "name_fingerprints", ignore_errors=True)
            atomic.write_text(marker, LAYOUT_VERSION + "\n")
        for spec in EXTRACTS:
            for area, schema in (
                ("lake", lake_schema(spec)),
                ("quarantine", QUARANTINE_SCHEMA),
                ("ledger", LEDGER_SCHEMA),
            ):
                folder = self.root / area / spec.name
                folder.mkdir(parents=True, exist_ok=True)
                empty = folder / "_empty.parquet"
                if not empty.exists() or pl.read_parquet_schema(empty) != dict(pl.Schema(schema)):
                    write_parquet_atomic(pl.DataFrame(schema=schema), empty)
        for area in AREAS:  # temporaries of a run that was killed
            for stale in (self.root / area).rglob(f"*{TMP_SUFFIX}"):
                if not atomic.writer_alive(stale):  # not those of a step writing beside this one
                    stale.unlink(missing_ok=True)
        if not self.ignored_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=LEDGER_SCHEMA), self.ignored_path)
        if not self.ledger_snapshot_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=LEDGER_SCHEMA), self.ledger_snapshot_path)
        if not self.quarantine_snapshot_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=QUARANTINE_SCHEMA), self.quarantine_snapshot_path)
        if not self.landing_months_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=LANDING_MONTHS_SCHEMA), self.landing_months_path)
        if not self.targets_path().exists():  # the targets' source exists without a targets.csv
            write_parquet_atomic(pl.DataFrame(schema=TARGETS_SCHEMA), self.targets_path())
        if not self.delivery_status_path.exists():
            from dagster_project.deliveries import status_schema

            write_parquet_atomic(pl.DataFrame(schema=status_schema()), self.delivery_status_path)

    # ----------------------------------------------------------- ledger
    def ledger_month(
        self, extract: str, month: str, segments: set[str] | None = None
    ) -> dict[str, tuple[str, dict]]:
        """The ledger of one extract's month (of some of its segments): source file -> (segment, ledger row).

        A segment written by another version of the lake (another schema) contributes nothing:
        its files are ingested again.
        """
        folder = self.root / "ledger" / extract / f"month={month}"
        if segments is None:
            paths = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        else:
            paths = [p for p in (folder / f"{s}.parquet" for s in sorted(segments)) if p.exists()]
        return {row["source_file"]: (path.stem, row) for path, row in _ledger_rows(paths)}

    def ledger_months(
        self, wanted: list[tuple[str, str, set[str] | None]]
    ) -> dict[tuple[str, str], dict[str, tuple[str, dict]]]:
        """:meth:`ledger_month` of many (extract, month, segments: None for all), in one read of all their files."""
        out: dict[tuple[str, str], dict[str, tuple[str, dict]]] = {(e, m): {} for e, m, _s in wanted}
        paths = []
        for extract, month, segments in wanted:
            if segments is None:
                folder = self.root / "ledger" / extract / f"month={month}"
                paths += sorted(folder.glob("*.parquet")) if folder.is_dir() else []
            else:
                paths += [
                    p for p in (self.ledger_path(extract, month, s) for s in sorted(segments)) if p.exists()
                ]
        where: dict[Path, tuple[tuple[str, str], str]] = {}  # a segment file's (extract, month) and segment
        for path, row in _ledger_rows(paths):
            if path not in where:
                where[path] = ((path.parent.parent.name, path.parent.name.removeprefix("month=")), path.stem)
            part, segment = where[path]
            out[part][row["source_file"]] = (segment, row)
        return out

    def ledger_entry(self, extract: str, month: str, stem: str) -> dict | None:
        """The ledger row of the source file named ``stem`` in an extract's month, if any."""
        for source_file, (_segment, row) in self.ledger_month(extract, month).items():
            if Path(source_file).stem == stem:
                return row
        return None

    ledger_snapshot_path = _one_file_table("ingest_ledger")
    quarantine_snapshot_path = _one_file_table("quarantine")

    def quarantine(self) -> pl.DataFrame:
        paths = sorted((self.root / "quarantine").rglob("*.parquet"))
        return _read_many(paths) if paths else pl.DataFrame(schema=QUARANTINE_SCHEMA)

    def consolidate(
        self, ledger: pl.DataFrame | None = None, quarantine: pl.DataFrame | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """One Parquet file each for the whole ledger and the whole quarantine (each: read already, or None)."""
        ledger = self.ledger() if ledger is None else ledger
        quarantine = self.quarantine() if quarantine is None else quarantine
        write_parquet_atomic(ledger, self.ledger_snapshot_path)
        write_parquet_atomic(quarantine, self.quarantine_snapshot_path)
        return ledger, quarantine

    def ledger(self) -> pl.DataFrame:
        """The whole ledger: every (file, extract) currently ingested, and the ignored files."""
        paths = sorted((self.root / "ledger").rglob("*.parquet"))
        if not paths:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        # one read of many files (polars reads them side by side): thousands of segments at scale
        return _read_many(paths).sort("source_file", "extract")

    def replace(
        self,
        spec: ExtractSpec,
        month: str,
        segment: str,
        drop: set[str],
        entries: list[dict],
        loaded: pl.DataFrame | None = None,
        quarantined: pl.DataFrame | None = None,
        names: pl.DataFrame | None = None,
    ) -> None:
        """Replace the rows of some source files in one segment of an extract's month.

        The rows of the files in ``drop`` and of the files ``entries`` account for leave the
        segment's data, quarantine, name fingerprints and ledger; ``loaded``, ``quarantined``,
        ``names`` and ``entries`` take their place. Each area's segment is rewritten whole by an
        atomic replace, the ledger last: it is the commit marker (a run killed before it leaves
        ledger rows that no longer match the landing zone, and the next run replaces those files again).
        """
        gone = set(drop) | {e["source_file"] for e in entries}
        ledger = self.ledger_path(spec.name, month, segment)
        # a ledger segment of another version promised nothing (ledger_month): its files are all being
        # ingested again, and what the segment held before is not kept
        fresh = ledger.exists() and pl.read_parquet_schema(ledger) != dict(pl.Schema(LEDGER_SCHEMA))
        for path, new, schema, order in (
            (self.names_path(spec.name, month, segment), names, NAMES_SCHEMA, ["source_file", "fingerprint"]),
            (
                self.data_path(spec.name, month, segment),
                loaded,
                lake_schema(spec),
                ["source_file", "source_row"],
            ),
            (
                self.quarantine_path(spec.name, month, segment),
                quarantined,
                QUARANTINE_SCHEMA,
                ["source_file", "source_row"],
            ),
            (
                self.ledger_path(spec.name, month, segment),
                pl.DataFrame(entries, schema=LEDGER_SCHEMA),
                LEDGER_SCHEMA,
                ["source_file"],
            ),
        ):
            _replace_segment(path, gone, new, schema, order, keep_old=not fresh)

    # ----------------------------------------------------------- what a run changed
    def changes_dir(self, run_id: str) -> Path:
        return self.root / "changes" / run_id

    def record_changes(self, run_id: str, pairs: set[tuple[str, str]]) -> None:
        """The (extract, month) segments a run rewrote: incremental dbt models rebuild those months."""
        if not pairs:
            return
        folder = self.changes_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame(sorted(pairs), schema={"extract": pl.Utf8, "month": pl.Utf8}, orient="row")
        write_parquet_atomic(frame, folder / f"{os.getpid()}-{os.urandom(6).hex()}.parquet")

    def changes(self, run_id: str) -> dict[str, list[str]]:
        """Extract -> the months a run rewrote (every step's record)."""
        folder = self.changes_dir(run_id)
        parts = [pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))] if folder.is_dir() else []
        out: dict[str, set[str]] = {}
        for frame in parts:
            for extract, month in frame.iter_rows():
                out.setdefault(extract, set()).add(month)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def forget_changes(self, keep: str | None = None) -> None:
        """Drop the change records of other runs than ``keep``."""
        import shutil

        folder = self.root / "changes"
        for run in folder.iterdir() if folder.is_dir() else []:
            if run.name != keep:
                shutil.rmtree(run, ignore_errors=True)

    def months(self, extract: str) -> set[str]:
        """The reporting months of an extract that have files in the ledger."""
        folder = self.root / "ledger" / extract
        if not folder.is_dir():
            return set()
        return {p.name.removeprefix("month=") for p in folder.glob("month=*") if any(p.glob("*.parquet"))}


NAMES_SCHEMA = {"source_file": pl.Utf8, "fingerprint": pl.Utf8}


def _ledger_rows(paths: list[Path]) -> list[tuple[Path, dict]]:
    """(segment file, ledger row) of every row of the ledger segments, read in one call (a unit's months
    have hundreds); segments of another schema (another version of the lake) contribute nothing."""
    if not paths:
        return []
    try:
        together = pl.read_parquet([str(p) for p in paths], include_file_paths="_path")
    except pl.exceptions.PolarsError:  # segments of different schemas: one by one, below
        together = None
    if together is not None and together.drop("_path").schema == pl.Schema(LEDGER_SCHEMA):
        as_path = {str(p): p for p in paths}  # one Path per file, not per row
        return [
            (as_path.get(name) or Path(name), row)
            for row in together.to_dicts()
            for name in [row.pop("_path")]
        ]
    out = []
    for path in paths:
        entries = pl.read_parquet(path)
        if entries.schema == pl.Schema(LEDGER_SCHEMA):
            out += [(path, row) for row in entries.to_dicts()]
    return out


def _read_many(paths: list[Path]) -> pl.DataFrame:
    """Files of one schema as one frame, in the order given."""
    return pl.read_parquet([str(p) for p in paths])


def _replace_segment(
    path: Path, gone: set[str], new: pl.DataFrame | None, schema: dict, order: list[str], keep_old: bool
) -> None:
    """Rewrite one segment file: its rows of the ``gone`` files out, ``new`` in, in a fixed order."""
    parts = []
    if path.exists() and keep_old:
        old = pl.read_parquet(path)
        if old.schema != pl.Schema(schema):
            raise ValueError(f"{path}: not this lake's schema ({dict(old.schema)}); remove it and run again")
        parts.append(old.filter(~pl.col("source_file").is_in(sorted(gone))))
    if new is not None and new.height:
        parts.append(new.select(pl.col(c).cast(t) for c, t in schema.items()))
    frame = (pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]) if parts else None
    if frame is not None and frame.height:
        write_parquet_atomic(frame.sort(order, maintain_order=True), path)
    elif path.exists():
        path.unlink()
