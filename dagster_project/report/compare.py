"""A table of indicator lines, one period against another: each line a mart column as the mart holds it,
its change the mart's own change column (never recomputed), formatted for the page (fmt)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dagster_project.report.fmt import MISSING, num, signed
from dagster_project.report.indicators import CHANGE_UNITS, Section


def compared(
    sections: Iterable[Section],
    this_of: Callable[[str], dict | None],
    before_of: Callable[[str], dict | None],
) -> list[dict]:
    """The sections whose mart has a row for this period (``this_of(mart)``), each with the lines of the
    columns that row holds: this period, the period before (``before_of(mart)``; a dash without a row)
    and the change, with the columns they come from."""
    out = []
    for section in sections:
        this = this_of(section.mart)
        if this is None:
            continue
        before = before_of(section.mart)
        lines = []
        for line in section.lines:
            if line.column not in this:
                continue
            change = MISSING
            cols = [line.column]
            if line.change and line.change in this:
                cols.append(line.change)
                change = signed(this[line.change], 2, CHANGE_UNITS[line.change_kind])
            lines.append(
                {
                    "label": line.label,
                    "this": num(this[line.column], line.places),
                    "before": num(before[line.column], line.places) if before else MISSING,
                    "change": change,
                    "columns": cols,
                }
            )
        if lines:
            out.append({"title": section.title, "mart": section.mart, "lines": lines})
    return out
