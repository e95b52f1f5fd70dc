"""The charts of the 月督查 section (supervision.py): the district's months and quarters, a year against
the year before, as Vega-Lite specs rendered like the report's other charts (svg.py).

Every value plotted is a cell of ``marts.*_district_monthly`` as the mart holds it, but a quarter's sex
ratio: 100 × the quarter's boys / its girls, summed over its months (metrics.md), which the section's
table prints beside the chart.
"""

from __future__ import annotations

from dagster_project.report.chart_style import Chart, frame, level
from dagster_project.report.charts import untitled, year_color
from dagster_project.report.fmt import num

MONTHS = [f"{m}月" for m in range(1, 13)]
QUARTERS = ("一季度", "二季度", "三季度", "四季度")
MONTH_WIDTH = 56  # pixels a month: 12 months of two years' bars fill the page


def _years(rows: list[dict]) -> list[str]:
    return [f"{y}年" for y in sorted({r["year"] for r in rows})]


def _month_axis() -> dict:
    return {**untitled("month", MONTHS), "axis": {"labelAngle": 0}, "scale": {"domain": MONTHS}}


def births_by_month(rows: list[dict], year: int) -> Chart:
    """marts.population_indicators_district_monthly: births and unplanned births of each month, the year
    shown against the year before."""
    years = _years(rows)
    measures = (("births", "出生人数（人）"), ("births_unplanned", "政策外出生人数（人）"))

    def panel(column: str, title: str, height: int) -> dict:
        values = [
            {"month": f"{r['month']}月", "year": f"{r['year']}年", "value": r[column]}
            for r in rows
            if r.get(column) is not None
        ]
        enc = {
            "x": _month_axis(),
            "xOffset": {"field": "year", "type": "nominal", "sort": years},
            "y": {"field": "value", "type": "quantitative", "title": None, "axis": {"format": ",d"}},
            "color": year_color(years),
        }
        return {
            "title": {"text": title, "fontSize": 12, "fontWeight": "normal"},
            "data": {"values": values},
            "width": MONTH_WIDTH * 12,
            "height": height,
            "layer": [
                {"mark": {"type": "bar"}, "encoding": enc},
                {
                    "mark": {"type": "text", "dy": -5, "fontSize": 9},
                    "encoding": {
                        **enc,
                        "text": {"field": "value", "type": "quantitative", "format": ",d"},
                        "color": {"value": "#333"},
                    },
                },
            ],
        }

    spec = frame(
        f"各月出生人数与政策外出生人数（{year - 1}年与{year}年）",
        vconcat=[panel(measures[0][0], measures[0][1], 200), panel(measures[1][0], measures[1][1], 120)],
        resolve={"scale": {"color": "shared"}},
    )
    return Chart(
        "births-by-month",
        spec["title"],
        spec,
        [f"marts.population_indicators_district_monthly.{c}" for c, _ in measures],
        "按出生日期所在月份计（当月流量，非累计）。",
    )


def sex_ratio_by_quarter(quarters: list[dict], year: int) -> Chart:
    """The sex ratio at birth of each quarter (supervision.quarters: from the sums of its months)."""
    values = [
        {"quarter": q["label"], "year": f"{q['year']}年", "ratio": q["ratio"]}
        for q in quarters
        if q["ratio"] is not None
    ]
    years = _years(quarters)
    enc = {
        "x": {**untitled("quarter", list(QUARTERS)), "axis": {"labelAngle": 0}},
        "y": {
            "field": "ratio",
            "type": "quantitative",
            "title": "出生人口性别比（女=100）",
            "scale": {"zero": False, "padding": 12},
        },
        "color": year_color(years),
    }
    spec = frame(
        f"各季度出生人口性别比（{year - 1}年与{year}年）",
        data={"values": values},
        width=420,
        height=220,
        layer=[
            {"mark": {"type": "line", "point": {"size": 50}}, "encoding": enc},
            # the year shown labelled above its points, the year before below: labels of close values apart
            {
                "transform": [{"filter": {"field": "year", "equal": f"{year}年"}}],
                "mark": {"type": "text", "dy": -10, "fontSize": 10},
                "encoding": {**enc, "text": {"field": "ratio", "type": "quantitative", "format": ".2f"}},
            },
            {
                "transform": [{"filter": {"field": "year", "oneOf": years[:-1]}}],
                "mark": {"type": "text", "dy": 14, "fontSize": 10},
                "encoding": {**enc, "text": {"field": "ratio", "type": "quantitative", "format": ".2f"}},
            },
        ],
    )
    return Chart(
        "sex-ratio-by-quarter",
        spec["title"],
        spec,
        [
            "marts.population_indicators_district_monthly.boys",
            "marts.population_indicators_district_monthly.girls",
        ],
        "季度性别比 = 100 × 季度内各月男婴之和 / 女婴之和（metrics.md：季度为各月流量之和，比率由和计算）；纵轴不从 0 开始。",
    )


def filing_rate_by_month(rows: list[dict], year: int, target: dict | None) -> Chart:
    """marts.fee_collection_district_monthly.filing_rate_ytd: the filing rate as of each month's end, the
    year shown against the year before; the district's filing-rate target of the year as a dashed line."""
    values = [
        {"month": f"{r['month']}月", "year": f"{r['year']}年", "rate": r["filing_rate_ytd"]}
        for r in rows
        if r.get("filing_rate_ytd") is not None
    ]
    years = _years(rows)
    enc = {
        "x": _month_axis(),
        "y": {
            "field": "rate",
            "type": "quantitative",
            "title": "立案率（%，截至月末）",
            "scale": {"domain": [0, 100]},
        },
        "color": year_color(years),
    }
    layers: list[dict] = [
        {"data": {"values": values}, "mark": {"type": "line", "point": {"size": 40}}, "encoding": enc}
    ]
    sources = ["marts.fee_collection_district_monthly.filing_rate_ytd"]
    if target is not None and target.get("target") is not None:
        bound = "≥" if target["bound"] == "min" else "≤"
        layers += level(target["target"], f"目标 {bound} {num(target['target'], 2)}")
        sources.append("marts.target_attainment.target")
    spec = frame(
        f"各月末社会抚养费立案率（当年累计，{year - 1}年与{year}年）",
        width=MONTH_WIDTH * 12,
        height=220,
        layer=layers,
    )
    return Chart(
        "filing-rate-by-month",
        spec["title"],
        spec,
        sources,
        "当年应立案的案件中截至各月末已立案的比例"
        + ("；虚线：本区当年立案率目标。" if len(sources) > 1 else "。"),
    )
