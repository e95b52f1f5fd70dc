"""月督查 (monthly supervision) of one district: its latest month, from the monthly and target marts.

metrics.md, "Monthly supervision (月督查)" and "Target attainment (目标管理考核)": the year to date of the
district against the same period last year (the marts' own ``_yoy`` columns), the townships' scorecard of
the month (score, targets met, rank among the district's townships, each target with its actual and a
met/missed mark), the district's own targets and its place among the districts of its city, and the
charts by month and quarter. Every figure is a mart cell as the mart holds it, but for a quarter's sex
ratio, which metrics.md builds from the quarter's sums of its months (100 × Σ boys / Σ girls).
The page's markup of the section is ``templates/supervision.html.j2``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from dagster_project.report import supervision_charts
from dagster_project.report.chart_style import Chart
from dagster_project.report.compare import compared
from dagster_project.report.data import Served
from dagster_project.report.fmt import MISSING, num
from dagster_project.report.indicators import BASIC_SITUATION, Line, Section

POPULATION = "population_indicators_district_monthly"
FEE = "fee_collection_district_monthly"
ENFORCEMENT = "enforcement_outcomes_district_monthly"
TOWNSHIPS = "population_indicators_monthly"  # the townships' names of each month
ATTAINMENT, SCORECARD = "target_attainment", "target_scorecard"

# the year to date of the district against the same period last year: the _ytd figures and rates, the
# month-end stocks, and the marts' own changes (_yoy_pp in points, _yoy_pct in %)
YEAR_TO_DATE = (
    Section(
        "一、人口出生与计划生育",
        POPULATION,
        (
            Line("出生人数", "births_ytd", 0, "births_ytd_yoy_pct", "pct"),
            Line("政策外出生人数", "births_unplanned_ytd"),
            Line("计划生育率（%）", "planned_birth_rate_ytd", 2, "planned_birth_rate_ytd_yoy_pp", "pp"),
            Line("男婴", "boys_ytd"),
            Line("女婴", "girls_ytd"),
            Line(
                "出生人口性别比（女=100）", "sex_ratio_at_birth_ytd", 2, "sex_ratio_at_birth_ytd_yoy_pp", "pp"
            ),
            Line("死亡人数", "deaths_ytd"),
            Line("出生登记率（%）", "registration_coverage_ytd", 2, "registration_coverage_ytd_yoy_pp", "pp"),
            Line(
                "出生缺陷发生率（‰）",
                "birth_defect_rate_permille_ytd",
                2,
                "birth_defect_rate_permille_ytd_yoy_pp",
                "permille",
            ),
            Line("孕前优生健康检查人数", "prepregnancy_checks_ytd"),
            Line(
                "孕前检查高风险人群占比（%）",
                "prepregnancy_high_risk_share_ytd",
                2,
                "prepregnancy_high_risk_share_ytd_yoy_pp",
                "pp",
            ),
            Line("月末户籍人口", "population_end"),
            Line("月末育龄妇女", "women_childbearing_age"),
        ),
    ),
    # the yearly table's fee lines, as the cohort of the year as of the month's end (every column _ytd)
    Section(
        "二、社会抚养费征收（当年应立案，截至月末）",
        FEE,
        tuple(
            Line(
                line.label,
                f"{line.column}_ytd",
                line.places,
                line.change and line.change.replace("_yoy", "_ytd_yoy"),
                line.change_kind,
            )
            for section in BASIC_SITUATION
            if section.mart == "fee_collection_district"
            for line in section.lines
        ),
    ),
    Section(
        "三、依法行政与“两非”查处",
        ENFORCEMENT,
        (
            Line(
                "申请法院强制执行（件）", "court_applications_ytd", 0, "court_applications_ytd_yoy_pct", "pct"
            ),
            Line("法院不予执行（件）", "court_rejections_ytd"),
            Line("冻结划拨银行存款（元）", "deposits_amount_ytd", 2, "deposits_amount_ytd_yoy_pct", "pct"),
            Line("司法拘留（人）", "judicial_detentions_ytd", 0, "judicial_detentions_ytd_yoy_pct", "pct"),
            Line("查处“两非”案件（件）", "liangfei_cases_ytd"),
            Line("“两非”行政罚款（元）", "liangfei_admin_fines_ytd", 2),
        ),
    ),
)

# the indicators a target may set (extracts.md, reference/targets.csv): label and decimal places shown
TARGETS = {
    "births": ("出生人数", 0),
    "planned_birth_rate": ("计划生育率（%）", 2),
    "sex_ratio_at_birth": ("出生人口性别比", 2),
    "natural_growth_rate_permille": ("人口自然增长率（‰）", 2),
    "registration_coverage": ("出生登记率（%）", 2),
    "prepregnancy_checks": ("孕前优生健康检查人数", 0),
    "filing_rate": ("立案率（%）", 2),
    "collection_rate": ("征收率（%）", 2),
    "compliance_rate": ("符合率（%）", 2),
}
BOUNDS = {"min": "≥", "max": "≤"}
MARKS = {True: ("met", "✓"), False: ("missed", "✗"), None: ("unassessed", MISSING)}


def month_of(served: Served, district: str, year: int) -> tuple[int, int] | None:
    """The month the section shows: the latest covered month of the district up to the report year's
    December, or of the year to date that follows the report year (a year not yet complete, which no
    yearly mart covers)."""
    covered = set(served.years())
    months = [
        (r["year"], r["month"])
        for r in served.rows(POPULATION, district)
        if r["year"] <= year or (r["year"] == year + 1 and r["year"] not in covered)
    ]
    return max(months, default=None)


def _parent(row: dict) -> str:
    """A township's district, a district's city (the first 4 digits of its code, metrics.md)."""
    level_digits = 6 if row["area_level"] == "township" else 4
    return row.get("parent_code") or row["area_code"][:level_digits]


def _order(indicator: str) -> tuple[int, str]:
    """TARGETS' order, an indicator it does not know last."""
    return (list(TARGETS).index(indicator) if indicator in TARGETS else len(TARGETS), indicator)


def _ranked(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["area_code"]))


def _target(r: dict) -> dict:
    label, places = TARGETS.get(r["indicator"], (r["indicator"], 2))
    css, mark = MARKS[r["met"]]
    return {
        "indicator": r["indicator"],
        "label": label,
        "target": f"{BOUNDS.get(r['bound'], r['bound'])} {num(r['target'], places)}",
        "actual": num(r["actual"], places),
        "css": css,
        "mark": mark,
        "points": r["points"],
        "points_earned": r["points_earned"],
        "rank": r["rank"],
        "peers": r["peers"],
    }


def _card(r: dict, name: str) -> dict:
    return {
        "code": r["area_code"],
        "name": name,
        "rank": r["rank"],
        "peers": r["peers"],
        "score": num(r["score"], 2),
        "targets_met": r["targets_met"],
        "targets_total": r["targets_total"],
        "points_earned": r["points_earned"],
        "points_possible": r["points_possible"],
    }


def targets(served: Served, district: str, year: int, month: int) -> dict | None:
    """The scorecards of the month: the district's townships (each with its targets), the district's own
    targets, and the districts of its city; None when the target marts hold none of them."""
    cards = served.rows(SCORECARD, year=year, month=month)
    goals = served.rows(ATTAINMENT, year=year, month=month)
    names = {
        r["township_code"]: r["township_name"]
        for r in served.rows(TOWNSHIPS, district, year)
        if r["month"] == month
    }
    townships = [r for r in cards if r["area_level"] == "township" and _parent(r) == district]
    own = [r for r in cards if r["area_level"] == "district" and r["area_code"] == district]
    if not townships and not own:
        return None
    by_area: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in goals:
        by_area[r["area_code"]][r["indicator"]] = _target(r)
    shown = {i for r in townships for i in by_area[r["area_code"]]}
    indicators = sorted(shown, key=_order)
    city = _parent(own[0]) if own else district[:4]
    mine = by_area[district]
    return {
        "indicators": [(i, TARGETS.get(i, (i, 2))[0]) for i in indicators],
        "townships": [
            {**_card(r, names.get(r["area_code"], r["area_code"])), "targets": by_area[r["area_code"]]}
            for r in _ranked(townships)
        ],
        "district": (
            {**_card(own[0], district), "targets": [mine[i] for i in sorted(mine, key=_order)]}
            if own
            else None
        ),
        "city": city,
        "districts": [
            _card(r, r["area_code"])
            for r in _ranked([r for r in cards if r["area_level"] == "district" and _parent(r) == city])
        ],
    }


def quarters(rows: list[dict]) -> list[dict]:
    """Each quarter of the district's months: the sums of its months' boys and girls, the sex ratio from
    those sums (metrics.md: a quarter's rates are built from its months' sums), the months it holds."""
    by: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in rows:
        by[(r["year"], (r["month"] - 1) // 3 + 1)].append(r)
    out = []
    for (year, quarter), items in sorted(by.items()):
        boys = sum(r["boys"] or 0 for r in items)
        girls = sum(r["girls"] or 0 for r in items)
        months = sorted(r["month"] for r in items)
        out.append(
            {
                "year": year,
                "quarter": quarter,
                "label": supervision_charts.QUARTERS[quarter - 1],
                "months": f"{months[0]}–{months[-1]}月" if len(months) > 1 else f"{months[0]}月",
                "complete": len(months) == 3,
                "boys": boys,
                "girls": girls,
                "ratio": 100 * boys / girls if girls else None,
            }
        )
    return out


def section(served: Served, district: str, year: int, figure: Callable[[Chart], dict]) -> dict:
    """The template's context of the district's 月督查 section (``figure`` registers a chart on the page)."""
    if POPULATION not in served.tables:
        return {"month": None, "reason": f"本发布没有月度集市（marts.{POPULATION}）。"}
    found = month_of(served, district, year)
    if found is None:
        return {"month": None, "reason": f"marts.{POPULATION} 中没有本区 {year} 年及以前的月份。"}
    y, m = found

    def row(mart: str, year: int) -> dict | None:
        rows = [r for r in served.rows(mart, district, year) if r["month"] == m]
        return rows[0] if rows else None

    months = [r for r in served.rows(POPULATION, district) if r["year"] in (y - 1, y)]
    quarter_rows = quarters(months)
    fee = [r for r in served.rows(FEE, district) if r["year"] in (y - 1, y)]
    scorecards = targets(served, district, y, m)
    filing_target = None
    if scorecards and scorecards["district"]:
        filing_target = next(
            (
                r
                for r in served.rows(ATTAINMENT, year=y, month=m)
                if (r["area_code"], r["indicator"]) == (district, "filing_rate")
            ),
            None,
        )
    figures = [figure(supervision_charts.births_by_month(months, y))]
    figures.append(figure(supervision_charts.sex_ratio_by_quarter(quarter_rows, y)))
    if fee:
        figures.append(figure(supervision_charts.filing_rate_by_month(fee, y, filing_target)))
    year_to_date = compared(YEAR_TO_DATE, lambda mart: row(mart, y), lambda mart: row(mart, y - 1))
    return {
        "year": y,
        "month": m,
        "year_to_date": year_to_date,
        "year_to_date_sources": [f"marts.{section['mart']}" for section in year_to_date],
        "quarters": quarter_rows,
        "partial": [q for q in quarter_rows if q["year"] == y and not q["complete"]],
        "figures": figures,
        "targets": scorecards,
    }
