"""The look every chart of the report shares: the page's CJK font, the colours, Vega-Lite's config,
the frame of a spec, and the Chart record the page prints (figure, caption, source line)."""

from __future__ import annotations

from dataclasses import dataclass

FONT = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", '
    '"PingFang SC", "Heiti SC", sans-serif'
)
BLUE, LIGHT_BLUE, RED, ORANGE, GREY = "#3b6ea8", "#a9c4e4", "#d1495b", "#e8a33d", "#888888"
STEP = {"step": 44}  # pixels a township: 19 townships fill the page, 3 do not stretch
CONFIG = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "top"},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold"},
}


@dataclass
class Chart:
    slug: str
    title: str
    spec: dict
    sources: list[str]  # mart.column, as printed under the figure
    note: str = ""


def frame(title: str, **spec) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",  # a name, never fetched
        "title": title,
        "background": "white",
        "padding": 8,
        "config": CONFIG,
        **spec,
    }


def year_colors(n: int) -> dict:
    """The report year darkest, earlier years lighter."""
    return (
        {"range": [LIGHT_BLUE, BLUE][-n:]} if n <= 2 else {"scheme": {"name": "blues", "extent": [0.3, 0.9]}}
    )


def township_axis(order: list[str]) -> dict:
    return {
        "field": "township",
        "type": "nominal",
        "sort": order,
        "title": None,
        "axis": {"labelAngle": -40, "labelFontSize": 11},
    }


def level(value: float, label: str) -> list[dict]:
    """Layers of a dashed red rule across the plot at ``value`` (a y field ``rate``), with ``label`` at its
    right end: the district's figure, or a target."""
    data = {"data": {"values": [{"rate": value, "label": label}]}}
    y = {"field": "rate", "type": "quantitative"}
    return [
        {
            **data,
            "mark": {"type": "rule", "color": RED, "strokeWidth": 2, "strokeDash": [6, 3]},
            "encoding": {"y": y},
        },
        {
            **data,
            "mark": {"type": "text", "color": RED, "align": "right", "dy": -7, "x": "width", "fontSize": 12},
            "encoding": {"y": y, "text": {"field": "label"}},
        },
    ]
