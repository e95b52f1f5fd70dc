"""The report's charts: Vega-Lite specs of mart rows, rendered to inline SVG by vl-convert (offline, no script; svg.py).

Every value plotted is a mart column as the mart holds it (the chart rounds nothing: its axes and
labels format for display only). The SVG keeps its text as text, in the page's CJK font family.
"""

from __future__ import annotations

import math

from dagster_project.report.chart_style import (  # noqa: F401  (FONT, CONFIG, GREY: importable from here as before)
    BLUE,
    CONFIG,
    FONT,
    GREY,
    LIGHT_BLUE,
    ORANGE,
    RED,
    STEP,
    Chart,
    frame,
    level,
    township_axis,
    year_colors,
)
from dagster_project.report.fmt import num

# rendering (and its cache) lives in svg.py; its public names stay importable from here
from dagster_project.report.svg import VL_VERSION, render_many, render_svg  # noqa: F401


def labels(pairs) -> list[str]:
    """The labels of (column, label) pairs, in their order."""
    return [label for _, label in pairs]


def untitled(field: str, sort: list[str], **more) -> dict:
    """A nominal field in the order given, without a title: its values say what they are."""
    return {"field": field, "type": "nominal", "sort": sort, "title": None, **more}


def year_color(years: list[str]) -> dict:
    """Color by year: the report year darkest."""
    return untitled("year", years, scale=year_colors(len(years)))


def births_and_sex_ratio(rows: list[dict], year: int) -> Chart:
    """marts.population_indicators: births (bars) and sex ratio at birth (line) by township."""
    values = [
        {"township": r["township_name"], "births": r["births"], "sex_ratio": r["sex_ratio_at_birth"]}
        for r in rows
    ]
    order = [r["township_name"] for r in rows]
    spec = frame(
        f"{year}年各乡镇（街道）出生人数与出生人口性别比",
        data={"values": values},
        width=STEP,
        height=260,
        encoding={"x": township_axis(order)},
        layer=[
            {
                "mark": {"type": "bar", "color": BLUE, "width": {"band": 0.7}},
                "encoding": {
                    "y": {
                        "field": "births",
                        "type": "quantitative",
                        "title": "出生人数（柱）",
                        "axis": {"titleColor": BLUE, "format": ",d"},
                    }
                },
            },
            {
                "mark": {"type": "line", "color": RED, "point": {"color": RED, "size": 40}},
                "encoding": {
                    "y": {
                        "field": "sex_ratio",
                        "type": "quantitative",
                        "title": "出生人口性别比（线，女=100）",
                        "scale": {"zero": False},
                        "axis": {"titleColor": RED, "orient": "right"},
                    }
                },
            },
        ],
        resolve={"scale": {"y": "independent"}},
    )
    return Chart(
        "births-sex-ratio",
        spec["title"],
        spec,
        ["marts.population_indicators.births", "marts.population_indicators.sex_ratio_at_birth"],
    )


def planned_birth_rate(rows: list[dict], district_rate: float | None, year: int) -> Chart:
    """marts.population_indicators.planned_birth_rate by township, the district's rate as a line."""
    values = [
        {"township": r["township_name"], "rate": r["planned_birth_rate"]}
        for r in rows
        if r["planned_birth_rate"] is not None
    ]
    low = min([v["rate"] for v in values] + ([district_rate] if district_rate is not None else []), default=0)
    domain = [max(0, math.floor(low) - 2), 100]
    layers: list[dict] = [
        {
            "data": {"values": values},
            "mark": {"type": "bar", "color": BLUE, "clip": True, "width": {"band": 0.7}},
            "encoding": {
                "x": {**township_axis([]), "sort": "-y"},
                "y": {
                    "field": "rate",
                    "type": "quantitative",
                    "title": "计划生育率（%）",
                    "scale": {"domain": domain, "zero": False},
                },
            },
        }
    ]
    if district_rate is not None:
        layers += level(district_rate, num(district_rate, 2))
    spec = frame(
        f"{year}年各乡镇（街道）计划生育率（虚线：全区）",
        width=STEP,
        height=240,
        layer=layers,
    )
    return Chart(
        "planned-birth-rate",
        spec["title"],
        spec,
        [
            "marts.population_indicators.planned_birth_rate",
            "marts.population_indicators_district.planned_birth_rate",
        ],
        "纵轴不从 0 开始。",
    )


FEE_RATES = (("filing_rate", "立案率"), ("collection_rate", "征收率"), ("compliance_rate", "符合率"))


def fee_rates(rows: list[dict], year: int) -> Chart:
    """marts.fee_collection: the three rates by township, the report year against the year before."""
    order = list(dict.fromkeys(r["township_name"] for r in sorted(rows, key=lambda r: r["township_code"])))
    values = [
        {"township": r["township_name"], "year": f"{r['year']}年", "indicator": label, "value": r[column]}
        for r in rows
        for column, label in FEE_RATES
        if r.get(column) is not None
    ]
    years = sorted({v["year"] for v in values})
    spec = frame(
        f"各乡镇（街道）社会抚养费立案率、征收率、符合率（{year - 1}年与{year}年）",
        data={"values": values},
        facet={
            "row": untitled(
                "indicator",
                labels(FEE_RATES),
                header={
                    "labelAngle": 0,
                    "labelOrient": "top",
                    "labelAnchor": "start",
                    "labelFontWeight": "bold",
                },
            )
        },
        spec={
            "width": {**STEP, "for": "position"},
            "height": 130,
            "mark": {"type": "bar"},
            "encoding": {
                "x": township_axis(order),
                "xOffset": {"field": "year", "type": "nominal", "sort": years},
                "y": {"field": "value", "type": "quantitative", "title": "%"},
                "color": year_color(years),
            },
        },
    )
    return Chart(
        "fee-rates",
        spec["title"],
        spec,
        [f"marts.fee_collection.{c}" for c, _ in FEE_RATES],
    )


ENFORCEMENT_COUNTS = (
    ("court_applications", "申请强制执行"),
    ("court_rejections", "不予执行"),
    ("judicial_detentions", "司法拘留"),
    ("liangfei_cases", "“两非”案件"),
)
ENFORCEMENT_AMOUNTS = (
    ("deposits_frozen_amount", "冻结存款"),
    ("deposits_transferred_amount", "划拨存款"),
    ("deposits_amount", "冻结划拨银行存款"),
)


def enforcement_by_year(rows: list[dict]) -> Chart:
    """marts.enforcement_outcomes_district: the measures of every covered year."""
    years = [f"{r['year']}年" for r in rows]
    colors = year_color(years)

    def panel(measures, title, axis_title, fmt):
        values = [
            {"measure": label, "year": f"{r['year']}年", "value": float(r[col])}
            for r in rows
            for col, label in measures
            if r.get(col) is not None
        ]
        enc = {
            "x": untitled("measure", labels(measures), axis={"labelAngle": 0, "labelLimit": 160}),
            "xOffset": {"field": "year", "type": "nominal", "sort": years},
            "y": {"field": "value", "type": "quantitative", "title": axis_title, "axis": {"format": fmt}},
            "color": colors,
        }
        return {
            "title": {"text": title, "fontSize": 12, "fontWeight": "normal"},
            "data": {"values": values},
            "width": 90 * len(measures) + 40,
            "height": 220,
            "layer": [
                {"mark": {"type": "bar"}, "encoding": enc},
                {
                    "mark": {"type": "text", "dy": -6, "fontSize": 10},
                    "encoding": {
                        **enc,
                        "text": {"field": "value", "type": "quantitative", "format": fmt},
                        "color": {"value": "#333"},
                    },
                },
            ],
        }

    spec = frame(
        "执法措施（各年度）",
        hconcat=[
            panel(ENFORCEMENT_COUNTS, "案件（件）与司法拘留（人）", "件 / 人", ",d"),
            panel(ENFORCEMENT_AMOUNTS, "冻结、划拨银行存款", "元", ",.0f"),
        ],
        resolve={"scale": {"color": "shared"}},
    )
    return Chart(
        "enforcement",
        spec["title"],
        spec,
        [f"marts.enforcement_outcomes_district.{c}" for c, _ in ENFORCEMENT_COUNTS + ENFORCEMENT_AMOUNTS],
    )


STATION_LEVELS = (
    ("stations_central", "中心站"),
    ("stations_level1", "一级站"),
    ("stations_level2", "二级站"),
)


def stations_by_township(rows: list[dict], coverage: float | None, year: int) -> Chart:
    """marts.service_station_coverage: active stations by level and township on 31 December."""
    order = [r["township_name"] for r in rows]
    values = [
        {"township": r["township_name"], "level": label, "stations": r[col], "rank": i}
        for r in rows
        for i, (col, label) in enumerate(STATION_LEVELS)
        if r.get(col)
    ]
    top = max([sum(r.get(c) or 0 for c, _ in STATION_LEVELS) for r in rows] + [1])
    title = f"{year}年12月31日各乡镇（街道）计划生育服务站"
    if coverage is not None:
        title += f"（乡镇覆盖率 {num(coverage, 2)}%）"
    spec = frame(
        title,
        data={"values": values},
        width=STEP,
        height=180,
        mark={"type": "bar", "width": {"band": 0.7}},
        encoding={
            "x": {**township_axis(order), "scale": {"domain": order}},
            "y": {
                "field": "stations",
                "type": "quantitative",
                "title": "服务站（个）",
                "scale": {"domain": [0, top]},
                "axis": {"values": list(range(top + 1)), "format": "d"},
            },
            "color": untitled(
                "level",
                labels(STATION_LEVELS),
                scale={"domain": labels(STATION_LEVELS), "range": [RED, ORANGE, BLUE]},
            ),
            "order": {"field": "rank"},
        },
    )
    return Chart(
        "stations",
        spec["title"],
        spec,
        [f"marts.service_station_coverage.{c}" for c, _ in STATION_LEVELS]
        + ["marts.service_station_coverage_district.township_coverage"],
        "无服务站的乡镇（街道）无柱。",
    )
