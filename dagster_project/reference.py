"""The data team's master data (sources/reference/): what is "the district"."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl

from dagster_project import landing, settings
from dagster_project.schemas.contract import REFERENCE_TABLES


class ReferenceError(Exception):
    pass


@dataclass(frozen=True)
class Reference:
    tables: dict[str, pl.DataFrame]
    fingerprint: str

    @property
    def townships(self) -> frozenset[str]:
        return frozenset(self.tables["townships"]["township_code"].to_list())

    @property
    def villages(self) -> dict[str, str]:
        v = self.tables["villages"]
        return dict(zip(v["village_code"].to_list(), v["township_code"].to_list(), strict=True))

    @property
    def hospitals(self) -> frozenset[str]:
        return frozenset(self.tables["hospitals"]["hospital_code"].to_list())

    @cached_property
    def hospital_townships(self) -> dict[str, str]:
        h = self.tables["hospitals"]
        return dict(zip(h["hospital_code"].to_list(), h["township_code"].to_list(), strict=True))


def load_reference(sources: Path) -> Reference:
    """Read and check reference/*.csv (UTF-8, English headers). Broken master data stops the run."""
    folder = sources / "reference"
    tables: dict[str, pl.DataFrame] = {}
    digest = hashlib.sha256()
    for name, columns in REFERENCE_TABLES.items():
        path = folder / f"{name}.csv"
        if not landing.is_delivery_dir(folder) or not path.exists() and not path.is_symlink():
            raise ReferenceError(f"{path}: missing reference table")
        try:  # a regular file of the landing zone only: a link or a FIFO is never opened
            raw = landing.read_bytes(path, settings.current().max_file_bytes)
        except OSError as exc:
            raise ReferenceError(f"{path}: not read ({exc})") from None
        digest.update(name.encode() + b"\x00" + raw)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReferenceError(f"{path}: not UTF-8 ({exc})") from exc
        df = pl.read_csv(text.encode(), infer_schema=False, raise_if_empty=False)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)}")
        df = df.select([pl.col(c).str.strip_chars() for c in columns])
        key = columns[0]
        dupes = df.filter(pl.col(key).is_duplicated())[key].unique().to_list()
        if dupes:
            raise ReferenceError(f"{path}: duplicate {key} {', '.join(sorted(dupes)[:5])}")
        tables[name] = df
    return Reference(tables=tables, fingerprint=digest.hexdigest()[:16])
