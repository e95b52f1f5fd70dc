"""The rows of every ledger and quarantine segment, read again only from the segment files that changed.

The ledger step writes the whole ledger and the whole quarantine as one Parquet file each
(``Lake.consolidate``: what dbt, the audits and the seals read). A province's ten years are some 54,000
ledger segments and as many quarantine ones; reading them all took about 20 s of a month's night that
rewrote a few hundred. So the rows last read are kept, each with the segment file it came from, in
``<warehouse>/state/<area>_rows.parquet``, and what ``lstat`` said of each file when it was read (size,
mtime and ctime in ns, inode) in ``<area>_rows.json`` beside it, with the identity of the rows file
itself. A night reads only the files whose identity changed or that are new, drops the rows of files
gone, and keeps the rest.

The segment files are the warehouse's own and only ever replaced whole, by a new file put in the old
one's place (``Lake.replace``): a file with the same identity holds the same rows. A file is looked at
before it is read, so one replaced in between is read again the next night. A missing, stale, foreign
or half-written store (its rows file is not the one its JSON names) costs a full read, never a wrong
row; the frame returned is always the one a full read in sorted path order gives.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from dagster_project import atomic
from dagster_project.lake import LEDGER_SCHEMA, Lake, write_parquet_atomic

VERSION = 1
PATH = "_segment_file"  # the column of the kept rows naming their file (relative to the area's folder)


def identity(st: os.stat_result) -> list[int]:
    """What says a warehouse file is the one seen before (they are only ever replaced whole, by a new file)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def listing(folder: Path) -> dict[str, os.stat_result | None]:
    """Every ``*.parquet`` under ``folder`` (relative POSIX path) and what ``lstat`` says of it (None:
    it could not be looked at), in the order a sorted list of the paths has."""
    out: dict[str, os.stat_result | None] = {}
    _walk(str(folder), "", out)
    return out


def _walk(folder: str, prefix: str, out: dict[str, os.stat_result | None]) -> None:
    """Depth-first in name order (the order of sorted paths), on strings: a province's areas hold some
    54,000 files each, whose Path objects alone cost seconds a night."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            _walk(entry.path, f"{prefix}{entry.name}/", out)
        elif entry.name.endswith(".parquet"):
            try:
                out[prefix + entry.name] = entry.stat(follow_symlinks=False)
            except OSError:
                out[prefix + entry.name] = None


def _store(state: Path, area: str) -> tuple[Path, Path]:
    return state / f"{area}_rows.parquet", state / f"{area}_rows.json"


def _load(state: Path, area: str, schema: dict) -> tuple[pl.DataFrame, dict[str, list[int]]] | None:
    """The kept rows and their files' identities, or None when the store cannot be trusted."""
    rows_path, meta_path = _store(state, area)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if (
            not isinstance(meta, dict)
            or meta.get("version") != VERSION
            or meta.get("schema") != _schema_id(schema)
        ):
            return None
        if meta.get("rows") != identity(rows_path.lstat()):
            return None  # not the rows file the JSON was written for
        files = meta.get("files")
        frame = pl.read_parquet(rows_path)
    except (OSError, ValueError, pl.exceptions.PolarsError):
        return None
    if not isinstance(files, dict) or frame.schema != pl.Schema({**schema, PATH: pl.String}):
        return None
    return frame, files


def _schema_id(schema: dict) -> str:
    return repr(list(pl.Schema(schema).items()))


def read(
    folder: Path, state: Path, area: str, schema: dict, save: bool = True
) -> tuple[pl.DataFrame, dict[str, os.stat_result | None]]:
    """Every row of the segment files under ``folder`` with the column ``PATH`` naming its file, in the
    order of one read of the files in sorted path order; and the files' ``lstat`` as listed. ``save``: the
    rows kept for the next read (the ledger step's, under the warehouse's writer lock); False: read only."""
    files = listing(folder)
    kept = _load(state, area, schema)
    old_rows, known = kept if kept is not None else (None, {})
    same = [rel for rel, st in files.items() if st is not None and known.get(rel) == identity(st)]
    fresh = sorted(set(files) - set(same))
    parts = []
    if old_rows is not None and same:
        parts.append(old_rows.filter(pl.col(PATH).is_in(same)))
    if fresh:
        parts.append(_read_files(folder, fresh).with_columns(pl.col(PATH).str.strip_prefix(f"{folder}/")))
    if parts:
        frame = pl.concat([p.select(*schema, PATH) for p in parts], how="vertical")
        # the order of a full read: files in sorted path order (Path's, component by component), rows
        # in each file's order (filter, concat and a stable sort keep it)
        rank = {rel: i for i, rel in enumerate(files)}  # listed in that order
        frame = (
            frame.with_columns(pl.col(PATH).replace_strict(rank, return_dtype=pl.Int64).alias("_rank"))
            .sort("_rank", maintain_order=True)
            .drop("_rank")
        )
    else:
        frame = pl.DataFrame(schema={**schema, PATH: pl.String})
    if save:
        _save(state, area, schema, frame, {rel: identity(st) for rel, st in files.items() if st is not None})
    return frame, files


def ledger(lake: Lake) -> pl.DataFrame:
    """``Lake.ledger()``, read from the rows the last ledger step kept and the ledger files changed since;
    nothing is written (a run's summary, after its steps)."""
    frame, _listed = read(lake.root / "ledger", lake.root / "state", "ledger", LEDGER_SCHEMA, save=False)
    return frame.drop(PATH).sort("source_file", "extract")


def _read_files(folder: Path, rels: list[str]) -> pl.DataFrame:
    """The rows of some segment files, in one read, with the column ``PATH`` (their full paths)."""
    return pl.read_parquet([str(folder / rel) for rel in rels], include_file_paths=PATH)


def _save(state: Path, area: str, schema: dict, frame: pl.DataFrame, files: dict[str, list[int]]) -> None:
    rows_path, meta_path = _store(state, area)
    write_parquet_atomic(frame, rows_path)
    meta = {
        "version": VERSION,
        "schema": _schema_id(schema),
        "rows": identity(rows_path.lstat()),
        "files": files,
    }
    atomic.write_json(meta_path, meta, separators=(",", ":"))
