"""Work units: one step's share of an agency's ingestion (a district's files, in some months)."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from dagster_project import landing
from dagster_project.ingest.inventory import landing_months, specs_of
from dagster_project.reference import Reference
from dagster_project.schemas.contract import HOSPITAL_FILE_RE, TOWNSHIP_FILE_RE, extract_for_file

ALL = "all"  # a unit of every district; also the court's and finance's one lake segment


@dataclass(frozen=True)
class Unit:
    """One step's share of an agency's ingestion: the files of one district (township and hospital
    files name their township; court and finance files cover every district: ``all``) in some months.

    Units touch disjoint lake files, so Dagster's executors run them side by side: in processes
    (multiprocess) or in pods (k8s). ``key`` is the step's mapping key.
    """

    agency: str
    district: str  # ALL: every district's files (the court's and finance's only unit, or fan-out ``agency``)
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
    return ALL


def fanout_for(setting: str, executor_mode: str) -> str:
    """The fan-out a run uses: ``auto`` is one unit per agency in-process (steps run one after another, so
    more units only add each unit's fixed cost: at 90 districts a month's night spent most of its
    ingestion there), one per district when the executor runs steps side by side."""
    if setting != "auto":
        return setting
    return "district" if executor_mode == "multiprocess" else "agency"


def plan_units(sources: Path, agency: str, reference: Reference, fanout: str = "district") -> list[Unit]:
    """The work units of an agency's landing files: one (``agency``), per district, or per district and
    month (``auto``: see :func:`fanout_for`)."""
    from dagster_project.settings import FANOUTS

    if fanout not in FANOUTS or fanout == "auto":
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
    if fanout == "agency":  # one unit: every district (its pool reads the changed files)
        every = sorted({m for months in months_of.values() for m in months})
        return [Unit(agency, ALL, tuple(every))] if every else []
    if fanout == "district":
        return [Unit(agency, d, tuple(sorted(m))) for d, m in sorted(months_of.items())]
    return [Unit(agency, d, (month,)) for d, m in sorted(months_of.items()) for month in sorted(m)]
