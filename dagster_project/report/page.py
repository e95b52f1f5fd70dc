"""The page: one HTML document with inline CSS and inline SVG, no script, no external resource.

This module turns the served rows into the template's context; the page itself is
``templates/report.html.j2`` (Jinja2, autoescape on: every name and field from the data is escaped)
and its style ``templates/report.css``, inlined at render time so that the page stays one offline file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

import jinja2
from jinja2.ext import Extension
from markupsafe import Markup

from dagster_project.report import charts, supervision, svg
from dagster_project.report.compare import compared
from dagster_project.report.data import Served
from dagster_project.report.fmt import MISSING, num, signed, timestamp
from dagster_project.report.indicators import AGENCIES, BASIC_SITUATION, DELIVERY_STATUS

GRID_MONTHS = 24  # the delivery grid shows the latest months; the counts cover them all
LIST_LIMIT = 100  # rows of a problem list shown (the count says how many there are)
VILLAGES_SHOWN = 10
TEMPLATES = Path(__file__).parent / "templates"
OTHER_AUDITS = {
    "unmatched_links_by_file": "无法关联的记录",
    "out_of_district_rows_by_file": "区外记录（保留，不计入指标）",
    "superseded_rows_by_file": "被重新报送取代的行",
}


class OneLine(Extension):
    """The template is written on many lines for reading; the page is written on one, as it always was:
    a line break in the template and the indentation after it are not output (write ``{{ "\\n" }}``
    where the page needs one). Every ``{% %}`` and ``{{ }}`` is kept on one line of the template."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"\n[ \t]*", "", source)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=[OneLine],
        finalize=lambda value: "" if value is None else value,
    )
    env.filters.update(num=num, signed=signed)
    return env


class Page:
    def __init__(self, served: Served, year: int, chart_cache: Path | None = None):
        self.served, self.year, self.prev = served, year, year - 1
        self.chart_cache = chart_cache  # rendered charts kept between pages (svg.render_many)
        self.figures: list[dict] = []  # every figure of the page, in order; its SVG rendered at the end

    def figure(self, chart: charts.Chart) -> dict:
        n = len(self.figures) + 1
        figure = {"n": n, "chart": chart, "prefix": f"fig{n}", "svg": None}
        self.figures.append(figure)
        return figure

    # --- one district ------------------------------------------------------------------------------

    def basic_situation(self, district: str) -> list[dict]:
        """The sections of the basic-situation table that the district's marts hold, formatted."""
        one = self.served.one
        return compared(
            BASIC_SITUATION,
            lambda mart: one(mart, district, self.year),
            lambda mart: one(mart, district, self.prev),
        )

    def charts_of(self, district: str) -> list[dict]:
        s, year = self.served, self.year
        out = []
        pop = s.rows("population_indicators", district, year)
        if pop:
            out.append(self.figure(charts.births_and_sex_ratio(pop, year)))
            d = s.one("population_indicators_district", district, year)
            out.append(self.figure(charts.planned_birth_rate(pop, d and d.get("planned_birth_rate"), year)))
        fee = [r for r in s.rows("fee_collection", district) if r["year"] in (year, self.prev)]
        if fee:
            out.append(self.figure(charts.fee_rates(fee, year)))
        enf = [r for r in s.rows("enforcement_outcomes_district", district) if r["year"] <= year]
        if enf:
            out.append(self.figure(charts.enforcement_by_year(enf)))
        st = s.rows("service_station_coverage", district, year)
        if st:
            d = s.one("service_station_coverage_district", district, year)
            out.append(self.figure(charts.stations_by_township(st, d and d.get("township_coverage"), year)))
        return out  # births by month: the 月督查 section's (supervision.py)

    def rankings(self, district: str) -> list[dict]:
        s, year = self.served, self.year
        pop = {r["township_code"]: r for r in s.rows("population_indicators", district, year)}
        fee = {r["township_code"]: r for r in s.rows("fee_collection", district, year)}
        st = {r["township_code"]: r for r in s.rows("service_station_coverage", district, year)}
        ranks = {
            "planned_birth_rate": _ranks(pop, "planned_birth_rate"),
            "filing_rate": _ranks(fee, "filing_rate"),
            "collection_rate": _ranks(fee, "collection_rate"),
            "compliance_rate": _ranks(fee, "compliance_rate"),
        }
        order = sorted(pop, key=lambda c: (ranks["planned_birth_rate"].get(c, 10**6), c))
        return [
            {
                "rank": ranks["planned_birth_rate"].get(code, MISSING),
                "township": pop[code],
                "fee": [
                    (fee.get(code, {}).get(col), ranks[col].get(code, MISSING))
                    for col in ("filing_rate", "collection_rate", "compliance_rate")
                ],
                "stations": st.get(code, {}).get("stations_total"),
            }
            for code in order
        ]

    def villages(self, district: str) -> dict | None:
        s, year = self.served, self.year
        rows = s.rows("village_indicators", district, year)
        if not rows:
            return None
        towns = {
            r["township_code"]: r["township_name"] for r in s.rows("population_indicators", district, year)
        }
        rated = []
        for r in rows:
            births, unplanned = r.get("births") or 0, r.get("births_unplanned") or 0
            rate = 100 * (births - unplanned) / births if births else None
            rated.append(
                {**r, "rate": rate, "township_name": towns.get(r["township_code"], r["township_code"])}
            )
        with_births = [r for r in rated if r["rate"] is not None]
        top = sorted(with_births, key=lambda r: (-r["rate"], -r["births"], r["village_code"]))
        bottom = sorted(with_births, key=lambda r: (r["rate"], -r["births_unplanned"], r["village_code"]))
        classes: dict[str, list[dict]] = defaultdict(list)
        for r in rated:
            classes[r.get("village_class") or MISSING].append(r)
        by_class = []
        for name in sorted(classes, key=lambda c: ({"示范": 0, "合格": 1, "整治": 2}.get(c, 3), c)):
            items = classes[name]
            births = sum(r["births"] or 0 for r in items)
            unplanned = sum(r["births_unplanned"] or 0 for r in items)
            women = [r.get("women_childbearing_age") for r in items]
            by_class.append(
                {
                    "name": name,
                    "villages": len(items),
                    "births": births,
                    "unplanned": unplanned,
                    "rate": 100 * (births - unplanned) / births if births else None,
                    "women": None if None in women else sum(women),
                }
            )
        return {
            "with_births": len(with_births),
            "top": top[:VILLAGES_SHOWN],
            "bottom": bottom[:VILLAGES_SHOWN],
            "classes": by_class,
        }

    def district(self, district: str) -> dict:
        basic = self.basic_situation(district)
        return {
            "code": district,
            "basic": basic,
            "basic_sources": [f"marts.{section['mart']}" for section in basic],
            "figures": self.charts_of(district),
            "rankings": self.rankings(district),
            "villages": self.villages(district),
            "supervision": supervision.section(self.served, district, self.year, self.figure),
        }

    # --- how every indicator is computed ------------------------------------------------------------

    def lineage(self) -> list[dict]:
        """For every line of the basic-situation table: the mart column and every column upstream of it,
        by layer, down to the delivered extracts and their headers (audit.column_lineage)."""
        s = self.served
        if not s.lineage:
            return []

        def cell(items: list[dict]) -> list[tuple[str, list[str]]]:
            """One line per model: its columns, with the extract's header for a source; 行数 for count(*)."""
            by_model: dict[str, list[str]] = defaultdict(list)
            for d in items:
                if d["column"] == "*":
                    by_model[d["model"]].insert(0, "（行数）")
                else:
                    header = f"（{d['header']}）" if d["header"] else ""
                    by_model[d["model"]].append(f"{d['column']}{header}")
            return sorted(by_model.items())

        sections = []
        for section in BASIC_SITUATION:
            lines = []
            for line in section.lines:
                up = s.upstream(section.mart, line.column)
                if not up and not any(
                    r["model"] == section.mart and r["column_name"] == line.column for r in s.lineage
                ):
                    continue
                by_layer = defaultdict(list)
                for d in up:
                    by_layer[d["layer"]].append(d)
                lines.append(
                    {
                        "label": line.label,
                        "column": f"{section.mart}.{line.column}",
                        **{
                            layer: cell(by_layer[layer])
                            for layer in ("marts", "intermediate", "staging", "source")
                        },
                    }
                )
            sections.append({"title": section.title, "lines": lines})
        return sections

    # --- data quality --------------------------------------------------------------------------------

    def quality(self) -> dict:
        s = self.served
        return {
            "deliveries": bool(s.deliveries),
            "summary": self.delivery_summary() if s.deliveries else None,
            "grid": self.delivery_grid() if s.deliveries else None,
            "problems": self.delivery_problems() if s.deliveries else None,
            "quarantined": sum(r["rows_quarantined"] for r in s.quarantine),
            "quarantine": s.quarantine,
            "ledger_problems": s.ledger_problems,
            "problem_files": len({r["source_file"] for r in s.ledger_problems}),
            "ledger_files": s.ledger_files,
            "other": [
                (t, label, s.other_audits[t]) for t, label in OTHER_AUDITS.items() if t in s.other_audits
            ],
            "other_sources": [f"audit.{t}" for t in OTHER_AUDITS if t in s.other_audits]
            + ["audit.audit_results.passed"],
            "failed_checks": s.failed_checks,
        }

    def delivery_summary(self) -> dict:
        counts: dict[str, Counter] = defaultdict(Counter)
        units: dict[str, set] = defaultdict(set)
        for r in self.served.deliveries:
            counts[r["agency"]][r["status"]] += 1
            units[r["agency"]].add(r["unit_code"])
        statuses = list(DELIVERY_STATUS)
        return {
            "statuses": [DELIVERY_STATUS[st][0] for st in statuses],
            "agencies": [
                {
                    "name": AGENCIES.get(a, a),
                    "units": len(units[a]),
                    "cells": [
                        (st if counts[a][st] and st != "on_time" else "none", counts[a][st])
                        for st in statuses
                    ],
                    "total": sum(counts[a].values()),
                }
                for a in sorted(counts, key=lambda a: (_agency_rank(a), a))
            ],
        }

    def delivery_grid(self) -> dict:
        rows = self.served.deliveries
        months = sorted({r["reporting_month"] for r in rows})
        shown = months[-GRID_MONTHS:]
        cells: dict[tuple, dict] = {(r["agency"], r["unit_code"], r["reporting_month"]): r for r in rows}
        units = sorted(
            {(r["agency"], r["unit_code"], r["unit_name"]) for r in rows},
            key=lambda u: (_agency_rank(u[0]), u[1]),
        )
        body = []
        for agency, code, name in units:
            tds = []
            for m in shown:
                r = cells.get((agency, code, m))
                if r is None:
                    tds.append(None)
                    continue
                label, mark = DELIVERY_STATUS.get(r["status"], (r["status"], "?"))
                late = f"，迟 {r['days_late']} 天" if r.get("days_late") else ""
                tds.append({"status": r["status"], "tip": f"{name} {m}：{label}{late}", "mark": mark})
            body.append({"agency": AGENCIES.get(agency, agency), "name": name, "cells": tds})
        return {
            "span": f"{shown[0]} 至 {shown[-1]}" if shown else "",
            "latest": len(months) > GRID_MONTHS,
            "months": shown,
            "units": body,
        }

    def delivery_problems(self) -> dict:
        rows = self.served.deliveries
        late: dict[tuple, list[int]] = defaultdict(list)
        for r in rows:
            if r["status"] == "late":
                late[(r["agency"], r["unit_name"])].append(r.get("days_late") or 0)
        return {
            "problems": [
                {**r, "agency_name": AGENCIES.get(r["agency"], r["agency"])}
                for r in rows
                if r["status"] in ("rejected", "overdue")
            ],
            "late": [
                {"agency": AGENCIES.get(a, a), "name": n, "months": len(d), "most": max(d)}
                for (a, n), d in sorted(
                    late.items(), key=lambda kv: (-len(kv[1]), _agency_rank(kv[0][0]), kv[0])
                )
            ],
        }

    # --- the whole page ------------------------------------------------------------------------------

    def render(self) -> str:
        s = self.served
        districts = [self.district(d) for d in s.districts()]
        lineage = self.lineage()
        quality = self.quality()
        svgs = svg.render_many([(f["chart"].spec, f["prefix"]) for f in self.figures], cache=self.chart_cache)
        for figure, rendered in zip(self.figures, svgs, strict=True):
            figure["svg"] = Markup(rendered)  # vl-convert's SVG of our own spec, whose text it escapes
        return (
            _environment()
            .get_template("report.html.j2")
            .render(
                css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
                year=self.year,
                prev=self.prev,
                run_id=s.run_id,
                published=timestamp(s.published_at),
                generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                districts=districts,
                has_lineage=bool(s.lineage),
                lineage=lineage,
                quality=quality,
                delivery_status=DELIVERY_STATUS,
                grid_months=GRID_MONTHS,
                list_limit=LIST_LIMIT,
                villages_shown=VILLAGES_SHOWN,
                missing=MISSING,
            )
        )


def _ranks(rows: dict[str, dict], column: str) -> dict[str, int]:
    """Competition ranking (1, 2, 2, 4) by the unrounded value, highest first; NULL unranked."""
    values = sorted(
        ((r[column], code) for code, r in rows.items() if r.get(column) is not None), reverse=True
    )
    ranks, previous, rank = {}, None, 0
    for i, (value, code) in enumerate(values, start=1):
        if value != previous:
            rank, previous = i, value
        ranks[code] = rank
    return ranks


def _agency_rank(agency: str) -> int:
    return list(AGENCIES).index(agency) if agency in AGENCIES else len(AGENCIES)


def render_page(served: Served, year: int, chart_cache: Path | None = None) -> str:
    return Page(served, year, chart_cache).render()
