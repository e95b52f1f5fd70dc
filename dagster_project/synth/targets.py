"""The responsibility targets of generated districts (``reference/targets.csv``).

Each year the city sets targets for a district and the district for each of its townships (extracts.md,
``targets.csv``). The generator draws them from what it planned for the area: its births, planned share and
sex ratio, its pre-pregnancy checks, its hospital births registered, its fee cases filed, collected and
compliant, its deaths and populations (:func:`expected`, from the district's plan, before anything is
written), shifted by a random stretch so that some areas meet a target and others miss it. The report's
district (the first generated) "completed the tasks the city set": its own targets are set with a margin on
the safe side of its expected figures, so that it meets every one by December.

The targets draw from a random stream of their own (``<seed>-targets-<district>``): the other files of the
landing zone are the same with or without them. The marts never read anything here; they compute the
figures from the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from dagster_project.schemas.targets import INDICATORS, TARGET_COLUMNS, TARGETS_AGENCY, TARGETS_FILE
from dagster_project.synth.model import District, People

# the weight of each indicator in the assessment (points), the same at every level
POINTS = {
    "births": 15,
    "planned_birth_rate": 20,
    "sex_ratio_at_birth": 15,
    "natural_growth_rate_permille": 10,
    "registration_coverage": 5,
    "prepregnancy_checks": 5,
    "filing_rate": 10,
    "collection_rate": 10,
    "compliance_rate": 10,
}
# bound, the rounding step of a target, and how far one unit of stretch moves it (in the indicator's unit, or
# as a share of the figure for the counts); a positive stretch makes the target harder to reach
SHAPE = {
    "births": ("max", 5, 0.06),
    "planned_birth_rate": ("min", 0.5, 2.0),
    "sex_ratio_at_birth": ("max", 0.5, 3.0),
    "natural_growth_rate_permille": ("max", 0.1, 1.0),
    "registration_coverage": ("min", 0.1, 0.5),
    "prepregnancy_checks": ("min", 5, 0.08),
    "filing_rate": ("min", 0.5, 4.0),
    "collection_rate": ("min", 0.5, 6.0),
    "compliance_rate": ("min", 0.5, 8.0),
}
COUNTS = ("births", "prepregnancy_checks")
ALWAYS = ("births", "planned_birth_rate")  # every township's contract names these
MARGIN = 0.3  # the report's district: at least this far on the safe side (rates, ‰) before rounding outwards
MARGIN_SHARE = 0.02  # ... and this share of a count


def _pct(numerator: float, denominator: float) -> float | None:
    return 100.0 * numerator / denominator if denominator else None


def expected(planner: People, d: District) -> dict[tuple[str, int], dict[str, float | None]]:
    """(area, year) -> what the plan holds for each indicator, for every township and the district, computed as
    metrics.md defines the figures (the plan's records, before they are written; residents only)."""
    villages = {v.code: v for v in d.villages}
    years = planner.p.years
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(township: str, year: int, **values: float) -> None:
        for area in (township, township[:6]):
            for name, value in values.items():
                sums[(area, year)][name] += value

    # a mother's registered births: a hospital birth within 3 days of one of them is registered
    deliveries = defaultdict(list)
    for r in d.registrations:
        deliveries[r.mother_id].append(r.birth)
        if r.birth.year in years and r.village in villages:
            boys, girls = r.sex == "男", r.sex == "女"
            add(r.village[:9], r.birth.year, births=1, unplanned=r.policy == "政策外", boys=boys, girls=girls)
    for h in d.hospital_births:
        if h.birth.year in years and h.village in villages:
            registered = any(abs((h.birth - b).days) <= 3 for b in deliveries.get(h.mother_id, ()))
            add(h.village[:9], h.birth.year, hospital=1, registered=registered)
    for c in d.checks:
        if c["checked_on"].year in years and c["village"] in villages:
            add(c["village"][:9], c["checked_on"].year, checks=1)
    _fees(d, years, add)
    for i, year in enumerate(years):
        months = range(12 * i, 12 * (i + 1))
        for v in d.villages:
            start = v.pop[12 * i] if i else math.nan  # the December before the first year is not delivered
            add(
                v.township,
                year,
                deaths=sum(v.deaths[m] for m in months),
                pop_start=start,
                pop_end=v.pop[12 * i + 12],
            )
    out = {}
    for key, s in sums.items():
        average = (s["pop_start"] + s["pop_end"]) / 2
        growth = 1000.0 * (s["births"] - s["deaths"]) / average if average == average and average else None
        out[key] = {
            "births": s["births"],
            "planned_birth_rate": _pct(s["births"] - s["unplanned"], s["births"]),
            "sex_ratio_at_birth": _pct(s["boys"], s["girls"]),
            "natural_growth_rate_permille": growth,
            "registration_coverage": _pct(s["registered"], s["hospital"]),
            "prepregnancy_checks": s["checks"],
            "filing_rate": _pct(s["filed"], s["due"]),
            "collection_rate": _pct(s["collected"], s["assessed"]),
            "compliance_rate": _pct(s["compliant"], s["due"]),
        }
    return out


def _fees(d: District, years: tuple[int, ...], add) -> None:
    """The fee cases of each year: 本区 unplanned registrations, due in the year registered; the earliest decision."""
    decision_of: dict[str, dict] = {}
    for dc in sorted(d.decisions, key=lambda x: (x["decided_on"], x["decision_no"])):
        decision_of.setdefault(dc["registration_id"], dc)
    paid = defaultdict(list)
    for p in d.payments:
        paid[p["decision_no"]].append(p)
    villages = {v.code for v in d.villages}
    for r in d.registrations:
        year = r.registered.year
        if r.policy != "政策外" or r.hukou != "本区" or year not in years or r.village not in villages:
            continue
        dc = decision_of.get(r.rid)
        end = dt.date(year, 12, 31)
        filed = dc is not None and dc["decided_on"] <= end
        collected = (
            sum((p["amount"] for p in paid[dc["decision_no"]] if p["paid_on"] <= end), Decimal(0))
            if filed
            else 0
        )
        add(
            r.village[:9],
            year,
            due=1,
            filed=filed,
            compliant=filed and dc["assessed"] >= dc["statutory"],
            assessed=float(dc["assessed"]) if filed else 0.0,
            collected=float(collected),
        )


def _rounded(value: float, step: float, direction: str) -> float:
    """``value`` on the grid of ``step``: the nearest point, or outwards (``up``, ``down``) for a margin that must hold."""
    units = value / step
    if direction == "up":
        units = math.ceil(units - 1e-9)
    elif direction == "down":
        units = math.floor(units + 1e-9)
    else:
        units = round(units)
    return round(units * step, 6)


def target_for(indicator: str, figure: float, stretch: float | None) -> float:
    """The target of an area whose expected figure is ``figure``: ``stretch`` units harder than it (a negative
    stretch: easier), or, with ``stretch`` None, with the report district's margin on the safe side."""
    bound, step, unit = SHAPE[indicator]
    harder = 1 if bound == "min" else -1  # a minimum is harder higher, a maximum lower
    if stretch is None:
        move = max(MARGIN_SHARE * figure, 2 * step) if indicator in COUNTS else MARGIN
        value = _rounded(figure - harder * move, step, "down" if bound == "min" else "up")
    else:
        move = unit * figure if indicator in COUNTS else unit
        value = _rounded(figure + harder * stretch * move, step, "nearest")
    if indicator not in COUNTS and indicator not in ("natural_growth_rate_permille", "sex_ratio_at_birth"):
        value = min(value, 100.0)  # a share: never more than all of them
    return max(value, step) if indicator in COUNTS else value


def district_targets(planner: People, d: District, seed: int) -> list[dict]:
    """The targets of a district (set by the city) and of each of its townships (set by the district), every year."""
    rng = random.Random(f"{seed}-targets-{d.code}")
    figures = expected(planner, d)
    rows = []
    for year in planner.p.years:
        own = figures.get((d.code, year), {})
        # the report's district met every target the city set; the others are assessed like townships
        chosen = [i for i in INDICATORS if own.get(i) is not None]
        for indicator in chosen:
            stretch = None if d.index == 0 else rng.uniform(-1.0, 0.3)
            rows.append(_row(year, d.code, indicator, target_for(indicator, own[indicator], stretch)))
        for township, _name, _type in d.townships:
            mine = figures.get((township, year), {})
            optional = [i for i in INDICATORS if i not in ALWAYS and mine.get(i) is not None]
            picked = set(rng.sample(optional, min(len(optional), rng.randint(2, 4))))
            for indicator in INDICATORS:
                if indicator in ALWAYS and mine.get(indicator) is not None or indicator in picked:
                    figure = mine[indicator]
                    if indicator == "sex_ratio_at_birth":  # the district's: sexes are drawn district-wide
                        figure = own.get(indicator) or figure
                    target = target_for(indicator, figure, rng.uniform(-1.0, 0.5))
                    rows.append(_row(year, township, indicator, target))
    return rows


def _row(year: int, area: str, indicator: str, target: float) -> dict:
    text = f"{target:.0f}" if indicator in COUNTS else f"{target:.2f}".rstrip("0").rstrip(".")
    return {
        "year": str(year),
        "area_code": area,
        "indicator": indicator,
        "bound": SHAPE[indicator][0],
        "target": text,
        "points": str(POINTS[indicator]),
    }


def write_targets(out: Path, rows: list[dict]) -> None:
    """reference/targets.csv (UTF-8, English header), the rows in the order given."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(TARGET_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    folder = out / TARGETS_AGENCY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TARGETS_FILE).write_text(buf.getvalue(), encoding="utf-8", newline="")
