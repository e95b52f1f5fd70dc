"""What an ingestion reports, and what it changes per lake segment (each segment is rewritten once)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from dagster_project.schemas.contract import ExtractSpec


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
class SegmentPart:
    """What one lake segment of one extract receives in a commit."""

    drop: set[str] = field(default_factory=set)  # source files whose rows leave the segment
    entries: list[dict] = field(default_factory=list)  # ledger rows of the files (re)ingested into it
    loaded: list[pl.DataFrame] = field(default_factory=list)
    quarantined: list[pl.DataFrame] = field(default_factory=list)
    names: list[pl.DataFrame] = field(default_factory=list)


@dataclass
class SegmentBatch:
    """What an ingestion changes, per (extract, month, segment): each segment is rewritten once."""

    parts: dict[tuple[str, str, str], SegmentPart] = field(default_factory=dict)

    def part(self, spec: ExtractSpec | str, month: str, segment: str) -> SegmentPart:
        name = spec if isinstance(spec, str) else spec.name
        return self.parts.setdefault((name, month, segment), SegmentPart())

    def drop(self, extract: str, month: str, segment: str, rel: str) -> None:
        self.part(extract, month, segment).drop.add(rel)


def concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    return pl.concat(frames, how="vertical") if frames else None
