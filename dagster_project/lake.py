"""Where ingested data lives in the warehouse folder, and how it is replaced safely.

```
<warehouse>/lake/<extract>/month=YYYY-MM/<source file stem>.parquet      loaded rows, pseudonymised
<warehouse>/lake/<extract>/_empty.parquet                               the schema, so a glob always matches
<warehouse>/lake/reference/<table>.parquet                              master data
<warehouse>/quarantine/<extract>/month=YYYY-MM/<stem>.parquet            rejected rows with every reason
<warehouse>/ledger/<extract>/month=YYYY-MM/<stem>.parquet                one ledger row per (file, extract)
<warehouse>/ledger/_ignored.parquet                                      unknown files of the landing zone
```

One Parquet file per source file and extract: a re-delivery replaces exactly its
own rows, by ``os.replace`` of a fully written temporary file. The ledger row is
written last, so a run killed half-way leaves a ledger that does not match the
landing zone and the next run re-ingests that file.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from dagster_project.ingest.validate import QUARANTINE_SCHEMA, lake_schema
from dagster_project.schemas.contract import EXTRACTS, ExtractSpec
from dagster_project.state import file_sha256

__all__ = ["Lake", "file_sha256", "fsync_dir", "write_parquet_atomic"]

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
TMP_SUFFIX = ".tmp"


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then os.replace: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    df.write_parquet(tmp, compression="zstd", statistics=True)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that is writing a temporary (``.<name>.<pid>.tmp``) still runs."""
    try:
        pid = int(tmp.name.removesuffix(TMP_SUFFIX).rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Lake:
    def __init__(self, warehouse: Path):
        self.root = warehouse

    # ----------------------------------------------------------- paths
    def data_path(self, extract: str, month: str, stem: str) -> Path:
        return self.root / "lake" / extract / f"month={month}" / f"{stem}.parquet"

    def quarantine_path(self, extract: str, month: str, stem: str) -> Path:
        return self.root / "quarantine" / extract / f"month={month}" / f"{stem}.parquet"

    def ledger_path(self, extract: str, month: str, stem: str) -> Path:
        return self.root / "ledger" / extract / f"month={month}" / f"{stem}.parquet"

    def names_path(self, extract: str, month: str, stem: str) -> Path:
        """Keyed fingerprints of the personal names a file held (for the privacy scan; never the names)."""
        return self.root / "pii" / "name_fingerprints" / extract / f"month={month}" / f"{stem}.parquet"

    def name_fingerprints(self) -> set[str]:
        folder = self.root / "pii" / "name_fingerprints"
        out: set[str] = set()
        for p in folder.rglob("*.parquet") if folder.exists() else []:
            out |= set(pl.read_parquet(p)["fingerprint"].to_list())
        return out

    def reference_path(self, table: str) -> Path:
        return self.root / "lake" / "reference" / f"{table}.parquet"

    @property
    def landing_months_path(self) -> Path:
        return self.root / "lake" / "landing_months" / "landing_months.parquet"

    @property
    def delivery_status_path(self) -> Path:
        return self.root / "lake" / "delivery_status" / "delivery_status.parquet"

    @property
    def ignored_path(self) -> Path:
        return self.root / "ledger" / "_ignored.parquet"

    def glob(self, area: str, extract: str) -> str:
        """The DuckDB glob of every Parquet file of an extract in an area (lake, quarantine, ledger)."""
        return str(self.root / area / extract / "**" / "*.parquet")

    # ----------------------------------------------------------- setup
    def ensure_layout(self) -> None:
        """Empty Parquet files with the fixed schemas, so globs never match nothing; clear stale temporaries."""
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
        for area in ("lake", "quarantine", "ledger", "pii"):  # temporaries of a run that was killed
            for stale in (self.root / area).rglob(f"*{TMP_SUFFIX}"):
                if not _writer_alive(stale):  # not those of a step writing beside this one
                    stale.unlink(missing_ok=True)
        if not self.ignored_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=LEDGER_SCHEMA), self.ignored_path)
        if not self.ledger_snapshot_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=LEDGER_SCHEMA), self.ledger_snapshot_path)
        if not self.quarantine_snapshot_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=QUARANTINE_SCHEMA), self.quarantine_snapshot_path)
        if not self.landing_months_path.exists():
            write_parquet_atomic(pl.DataFrame(schema=LANDING_MONTHS_SCHEMA), self.landing_months_path)
        if not self.delivery_status_path.exists():
            from dagster_project.deliveries import status_schema

            write_parquet_atomic(pl.DataFrame(schema=status_schema()), self.delivery_status_path)

    # ----------------------------------------------------------- ledger
    def ledger_entry(self, extract: str, month: str, stem: str) -> dict | None:
        path = self.ledger_path(extract, month, stem)
        if not path.exists():
            return None
        entry = pl.read_parquet(path)
        if entry.schema != pl.Schema(LEDGER_SCHEMA):
            return None  # written by an older version of the lake: the file is ingested again
        rows = entry.to_dicts()
        return rows[0] if rows else None

    @property
    def ledger_snapshot_path(self) -> Path:
        return self.root / "lake" / "ingest_ledger" / "ingest_ledger.parquet"

    @property
    def quarantine_snapshot_path(self) -> Path:
        return self.root / "lake" / "quarantine" / "quarantine.parquet"

    def quarantine(self) -> pl.DataFrame:
        parts = [pl.read_parquet(p) for p in sorted((self.root / "quarantine").rglob("*.parquet"))]
        parts = [p for p in parts if p.height]
        return pl.concat(parts) if parts else pl.DataFrame(schema=QUARANTINE_SCHEMA)

    def consolidate(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """One Parquet file each for the whole ledger and the whole quarantine, read by dbt's audit models."""
        ledger, quarantine = self.ledger(), self.quarantine()
        write_parquet_atomic(ledger, self.ledger_snapshot_path)
        write_parquet_atomic(quarantine, self.quarantine_snapshot_path)
        return ledger, quarantine

    def ledger(self) -> pl.DataFrame:
        """The whole ledger: every (file, extract) currently ingested, and the ignored files."""
        parts = [pl.read_parquet(p) for p in sorted((self.root / "ledger").rglob("*.parquet"))]
        parts = [p for p in parts if p.height]
        if not parts:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        return pl.concat(parts, how="vertical").sort("source_file", "extract")

    def commit(
        self,
        spec: ExtractSpec,
        month: str,
        stem: str,
        entry: dict,
        loaded: pl.DataFrame | None,
        quarantined: pl.DataFrame | None,
        name_fingerprints: set[str] | None = None,
    ) -> None:
        """Replace one file's rows of one extract, then its ledger row (the commit marker)."""
        data, quar = self.data_path(spec.name, month, stem), self.quarantine_path(spec.name, month, stem)
        names = self.names_path(spec.name, month, stem)
        if name_fingerprints:
            frame = pl.DataFrame({"fingerprint": sorted(name_fingerprints)}, schema={"fingerprint": pl.Utf8})
            write_parquet_atomic(frame, names)
        else:
            names.unlink(missing_ok=True)
        if loaded is not None and loaded.height:
            write_parquet_atomic(loaded, data)
        else:
            data.unlink(missing_ok=True)
        if quarantined is not None and quarantined.height:
            write_parquet_atomic(quarantined, quar)
        else:
            quar.unlink(missing_ok=True)
        write_parquet_atomic(
            pl.DataFrame([entry], schema=LEDGER_SCHEMA), self.ledger_path(spec.name, month, stem)
        )

    def forget(self, extract: str, month: str, stem: str) -> None:
        """A source file withdrawn from the landing zone: its rows leave the lake."""
        self.ledger_path(extract, month, stem).unlink(missing_ok=True)
        self.data_path(extract, month, stem).unlink(missing_ok=True)
        self.quarantine_path(extract, month, stem).unlink(missing_ok=True)
        self.names_path(extract, month, stem).unlink(missing_ok=True)

    def months(self, extract: str) -> set[str]:
        """The reporting months of an extract that have files in the ledger."""
        folder = self.root / "ledger" / extract
        if not folder.is_dir():
            return set()
        return {p.name.removeprefix("month=") for p in folder.glob("month=*") if any(p.glob("*.parquet"))}

    def stems(self, extract: str, month: str) -> set[str]:
        folder = self.root / "ledger" / extract / f"month={month}"
        return {p.stem for p in folder.glob("*.parquet")} if folder.exists() else set()
