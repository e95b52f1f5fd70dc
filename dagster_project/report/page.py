"""The page: one HTML document with inline CSS and inline SVG, no script, no external resource."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path

from dagster_project.report import charts
from dagster_project.report.data import Served
from dagster_project.report.fmt import MISSING, esc, num, signed, timestamp
from dagster_project.report.indicators import AGENCIES, BASIC_SITUATION, CHANGE_UNITS, DELIVERY_STATUS

GRID_MONTHS = 24  # the delivery grid shows the latest months; the counts cover them all
LIST_LIMIT = 100  # rows of a problem list shown (the count says how many there are)
VILLAGES_SHOWN = 10

CSS = """
:root { --ink: #222; --muted: #666; --line: #d8dde3; --head: #eef2f7; --blue: #3b6ea8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
    "PingFang SC", "Heiti SC", sans-serif;
  font-size: 14px; line-height: 1.55; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--blue); }
h3 { font-size: 17px; margin: 28px 0 8px; }
h4 { font-size: 15px; margin: 18px 0 6px; }
.lead { color: var(--muted); margin: 0 0 12px; }
nav ul { margin: 6px 0 0; padding-left: 20px; }
table { border-collapse: collapse; margin: 6px 0 4px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 8px; vertical-align: top; }
th { background: var(--head); font-weight: 600; text-align: center; }
td.n { text-align: right; white-space: nowrap; }
td.c { text-align: center; }
tr.section td { background: #f7f9fb; font-weight: 600; }
td.src, .src code { color: var(--muted); font-size: 11.5px; }
p.src { color: var(--muted); font-size: 12px; margin: 2px 0 18px; }
p.src code, td.src code { font-family: "Noto Sans Mono CJK SC", "DejaVu Sans Mono", monospace; }
figure { margin: 18px 0 6px; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; }
.grid td, .grid th { padding: 1px 3px; font-size: 11px; text-align: center; }
.grid th.unit, .grid td.unit { text-align: left; white-space: nowrap; }
.s-on_time { background: #d9f0df; } .s-late { background: #fbe7bf; } .s-rejected { background: #f6c3c0; }
.s-overdue { background: #b3261e; color: #fff; } .s-not_yet_due { background: #eee; color: #888; }
.s-none { background: #fff; color: #bbb; }
.legend span { display: inline-block; padding: 0 6px; margin-right: 6px; border: 1px solid var(--line); }
.ok { color: #1f7a3a; }
table.lineage { width: 100%; table-layout: fixed; }
table.lineage td { font-size: 11px; overflow-wrap: anywhere; }
table.lineage code { word-break: break-all; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 12mm 10mm; }
@media print {
  main { max-width: none; padding: 0; }
  body { font-size: 11px; }
  section.district, section.quality { break-before: page; }
  table, figure { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
}
"""


class Page:
    def __init__(self, served: Served, year: int, chart_cache: Path | None = None):
        self.served, self.year, self.prev = served, year, year - 1
        self.chart_cache = chart_cache  # rendered charts kept between pages (charts.render_many)
        self.figures = 0
        self.pending: list[tuple[str, dict, str]] = []  # (placeholder, Vega-Lite spec, id prefix)

    # --- helpers -----------------------------------------------------------------------------------

    def source(self, columns: list[str], note: str = "") -> str:
        cols = "、".join(f"<code>{esc(c)}</code>" for c in columns)
        return (
            f'<p class="src">来源：{cols}{("；" + esc(note)) if note else ""} ｜ 发布 run '
            f"<code>{esc(self.served.run_id)}</code>，{esc(timestamp(self.served.published_at))}</p>"
        )

    def figure(self, chart: charts.Chart) -> str:
        self.figures += 1
        # rendered all at once at the end of the page (render_many), in parallel on a large page
        svg = f"\x00figure-{self.figures}\x00"
        self.pending.append((svg, chart.spec, f"fig{self.figures}"))
        return (
            f'<figure class="chart" id="fig-{self.figures}" data-chart="{esc(chart.slug)}">{svg}'
            f"<figcaption>图 {self.figures}：{esc(chart.title)}</figcaption></figure>"
            + self.source(chart.sources, chart.note)
        )

    # --- one district ------------------------------------------------------------------------------

    def basic_situation(self, district: str) -> str:
        rows, used = [], []
        for section in BASIC_SITUATION:
            this = self.served.one(section.mart, district, self.year)
            if this is None:
                continue
            before = self.served.one(section.mart, district, self.prev)
            lines = [line for line in section.lines if line.column in this]
            if not lines:
                continue
            used.append(f"marts.{section.mart}")
            rows.append(
                f'<tr class="section"><td colspan="4">{esc(section.title)}</td>'
                f'<td class="src"><code>marts.{esc(section.mart)}</code></td></tr>'
            )
            for line in lines:
                change = MISSING
                cols = [line.column]
                if line.change and line.change in this:
                    cols.append(line.change)
                    value = this[line.change]
                    change = signed(value, 2, CHANGE_UNITS[line.change_kind])
                rows.append(
                    f"<tr><td>{esc(line.label)}</td>"
                    f'<td class="n">{num(this[line.column], line.places)}</td>'
                    f'<td class="n">{num(before[line.column], line.places) if before else MISSING}</td>'
                    f'<td class="n">{change}</td>'
                    f'<td class="src">{"<br>".join(f"<code>{esc(c)}</code>" for c in cols)}</td></tr>'
                )
        if not rows:
            return f"<p>本区无 {self.year} 年的集市数据。</p>"
        return (
            '<table class="basic"><thead><tr><th>指标</th>'
            f"<th>{self.year}年</th><th>{self.prev}年</th><th>同比变化</th><th>集市列</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            + self.source(
                used,
                "同比变化取自集市的 *_yoy_pp（百分点）、*_yoy_pct（增长 %）、birth_defect_rate_permille_yoy（千分点）列；"
                "无此列的指标不另行计算",
            )
        )

    def charts_of(self, district: str) -> str:
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
        births = [r for r in s.rows("population_indicators_district", district) if r["year"] <= year]
        if births:
            out.append(self.figure(charts.births_by_year(births)))
        return "".join(out)

    def rankings(self, district: str) -> str:
        s, year = self.served, self.year
        pop = {r["township_code"]: r for r in s.rows("population_indicators", district, year)}
        if not pop:
            return ""
        fee = {r["township_code"]: r for r in s.rows("fee_collection", district, year)}
        st = {r["township_code"]: r for r in s.rows("service_station_coverage", district, year)}
        ranks = {
            "planned_birth_rate": _ranks(pop, "planned_birth_rate"),
            "filing_rate": _ranks(fee, "filing_rate"),
            "collection_rate": _ranks(fee, "collection_rate"),
            "compliance_rate": _ranks(fee, "compliance_rate"),
        }
        order = sorted(pop, key=lambda c: (ranks["planned_birth_rate"].get(c, 10**6), c))
        body = []
        for code in order:
            p, f, t = pop[code], fee.get(code, {}), st.get(code, {})
            fee_cells = "".join(
                f'<td class="n">{num(f.get(col), 2)}</td><td class="c">{ranks[col].get(code, MISSING)}</td>'
                for col in ("filing_rate", "collection_rate", "compliance_rate")
            )
            body.append(
                f'<tr><td class="c">{ranks["planned_birth_rate"].get(code, MISSING)}</td>'
                f"<td>{esc(p['township_name'])}</td>"
                f'<td class="n">{num(p.get("births"))}</td><td class="n">{num(p.get("births_unplanned"))}</td>'
                f'<td class="n">{num(p.get("planned_birth_rate"), 2)}</td>'
                f'<td class="n">{num(p.get("sex_ratio_at_birth"), 2)}</td>'
                f'{fee_cells}<td class="n">{num(t.get("stations_total"))}</td></tr>'
            )
        return (
            "<table><thead><tr><th>名次</th><th>乡镇（街道）</th><th>出生人数</th><th>政策外出生</th>"
            "<th>计划生育率（%）</th><th>出生人口性别比</th><th>立案率（%）</th><th>名次</th>"
            "<th>征收率（%）</th><th>名次</th><th>符合率（%）</th><th>名次</th><th>服务站</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            + self.source(
                [
                    "marts.population_indicators.births",
                    "births_unplanned",
                    "planned_birth_rate",
                    "sex_ratio_at_birth",
                    "marts.fee_collection.filing_rate",
                    "collection_rate",
                    "compliance_rate",
                    "marts.service_station_coverage.stations_total",
                ],
                "按计划生育率排序；名次按未舍入的比率，相同者并列",
            )
        )

    def villages(self, district: str) -> str:
        s, year = self.served, self.year
        rows = s.rows("village_indicators", district, year)
        if not rows:
            return ""
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
        top = sorted(with_births, key=lambda r: (-r["rate"], -r["births"], r["village_code"]))[
            :VILLAGES_SHOWN
        ]
        bottom = sorted(with_births, key=lambda r: (r["rate"], -r["births_unplanned"], r["village_code"]))[
            :VILLAGES_SHOWN
        ]

        def table(items):
            body = "".join(
                f"<tr><td>{esc(r['village_name'])}</td><td>{esc(r['township_name'])}</td>"
                f'<td class="c">{esc(r.get("village_class") or MISSING)}</td>'
                f'<td class="n">{num(r["births"])}</td><td class="n">{num(r["births_unplanned"])}</td>'
                f'<td class="n">{num(r["rate"], 2)}</td><td class="n">{num(r.get("women_childbearing_age"))}</td></tr>'
                for r in items
            )
            return (
                "<table><thead><tr><th>村（居）</th><th>乡镇（街道）</th><th>村级分类</th><th>出生人数</th>"
                "<th>政策外出生</th><th>计划生育率（%）</th><th>育龄妇女</th></tr></thead>"
                f"<tbody>{body}</tbody></table>"
            )

        classes: dict[str, list[dict]] = defaultdict(list)
        for r in rated:
            classes[r.get("village_class") or MISSING].append(r)
        class_rows = []
        for name in sorted(classes, key=lambda c: ({"示范": 0, "合格": 1, "整治": 2}.get(c, 3), c)):
            items = classes[name]
            births = sum(r["births"] or 0 for r in items)
            unplanned = sum(r["births_unplanned"] or 0 for r in items)
            women = [r.get("women_childbearing_age") for r in items]
            class_rows.append(
                f'<tr><td class="c">{esc(name)}</td><td class="n">{num(len(items))}</td>'
                f'<td class="n">{num(births)}</td><td class="n">{num(unplanned)}</td>'
                f'<td class="n">{num(100 * (births - unplanned) / births if births else None, 2)}</td>'
                f'<td class="n">{num(None if None in women else sum(women))}</td></tr>'
            )
        cols = [
            "marts.village_indicators.village_name",
            "village_class",
            "births",
            "births_unplanned",
            "women_childbearing_age",
        ]
        note = (
            "村级计划生育率 = 100 ×（births − births_unplanned）/ births，即 metrics.md 的定义"
            "（village_indicators 无此列）；无出生的村（居）不参与排名"
        )
        return (
            f"<h4>计划生育率最高的 {VILLAGES_SHOWN} 个村（居）（{len(with_births)} 个有出生的村（居）中）</h4>"
            + table(top)
            + self.source(cols, note)
            + f"<h4>计划生育率最低的 {VILLAGES_SHOWN} 个村（居）</h4>"
            + table(bottom)
            + self.source(cols, note)
            + "<h4>按村级分类（示范 / 合格 / 整治）</h4>"
            "<table><thead><tr><th>分类</th><th>村（居）数</th><th>出生人数</th><th>政策外出生</th>"
            "<th>计划生育率（%）</th><th>育龄妇女</th></tr></thead>"
            f"<tbody>{''.join(class_rows)}</tbody></table>"
            + self.source(cols, "分类的计划生育率由分类内出生数之和计算，不平均各村比率")
        )

    def district(self, district: str) -> str:
        return (
            f'<section class="district" id="d-{esc(district)}">'
            f"<h2>区（区划代码 {esc(district)}）：{self.year}年与{self.prev}年</h2>"
            f"<h3>基本情况</h3>{self.basic_situation(district)}"
            f"<h3>图表</h3>{self.charts_of(district)}"
            f"<h3>乡镇（街道）排名（{self.year}年）</h3>{self.rankings(district)}"
            f"<h3>村（居）下钻（{self.year}年）</h3>{self.villages(district)}"
            "</section>"
        )

    # --- how every indicator is computed ------------------------------------------------------------

    def lineage(self) -> str:
        """For every line of the basic-situation table: the mart column and every column upstream of it,
        by layer, down to the delivered extracts and their headers (audit.column_lineage)."""
        s = self.served
        if not s.lineage:
            return "<p>本发布没有 audit.column_lineage。</p>"

        def cell(items: list[dict]) -> str:
            """One line per model: its columns, with the extract's header for a source; 行数 for count(*)."""
            by_model: dict[str, list[str]] = defaultdict(list)
            for d in items:
                if d["column"] == "*":
                    by_model[d["model"]].insert(0, "（行数）")
                else:
                    header = f"（{esc(d['header'])}）" if d["header"] else ""
                    by_model[d["model"]].append(f"{esc(d['column'])}{header}")
            return (
                "<br>".join(
                    f"<code>{esc(m)}</code>：{'、'.join(cols)}" for m, cols in sorted(by_model.items())
                )
                or MISSING
            )

        rows = []
        for section in BASIC_SITUATION:
            rows.append(f'<tr class="section"><td colspan="5">{esc(section.title)}</td></tr>')
            for line in section.lines:
                up = s.upstream(section.mart, line.column)
                if not up and not any(
                    r["model"] == section.mart and r["column_name"] == line.column for r in s.lineage
                ):
                    continue
                by_layer = defaultdict(list)
                for d in up:
                    by_layer[d["layer"]].append(d)
                rows.append(
                    f"<tr><td>{esc(line.label)}</td>"
                    f"<td><code>{esc(section.mart)}.{esc(line.column)}</code>"
                    + (("<br>" + cell(by_layer["marts"])) if by_layer["marts"] else "")
                    + f"</td><td>{cell(by_layer['intermediate'])}</td>"
                    f"<td>{cell(by_layer['staging'])}</td><td>{cell(by_layer['source'])}</td></tr>"
                )
        return (
            '<p class="lead">每个指标由哪些列计算而来：集市列 ← 中间层 ← 标准化层（staging）← 报送文件的列及其表头。'
            "由 dbt 编译后的 SQL 逐列解析（sqlglot），与 Dagster 中各模型物化的 <code>dagster/column_lineage</code> 元数据同源；"
            "“（行数）”表示该表的行（count(*) 计的是行；表的行来自其 FROM 与 JOIN 的表）。筛选与关联条件本身不计入。</p>"
            '<table class="lineage"><colgroup><col style="width:11%"><col style="width:23%">'
            '<col style="width:19%"><col style="width:24%"><col style="width:23%"></colgroup>'
            "<thead><tr><th>指标</th><th>集市列</th><th>中间层</th>"
            "<th>标准化层</th><th>报送文件的列（表头）</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            + self.source(
                [
                    "audit.column_lineage.model",
                    "column_name",
                    "upstream",
                    "upstream_column",
                    "upstream_header",
                ]
            )
        )

    # --- data quality --------------------------------------------------------------------------------

    def quality(self) -> str:
        s = self.served
        parts = ['<section class="quality" id="quality"><h2>数据质量</h2>']
        parts.append(
            '<p class="lead">谁没有报送、谁迟交、哪些文件被拒收、哪些行被隔离：来自 serving.duckdb 的 audit 表。</p>'
        )
        parts.append("<h3>报送情况（各单位、各月）</h3>")
        if s.deliveries:
            parts.append(self.delivery_summary())
            parts.append(self.delivery_grid())
            parts.append(self.delivery_problems())
        else:
            parts.append("<p>本发布没有 audit.delivery_status。</p>")
        parts.append("<h3>隔离的行（按文件和原因）</h3>")
        if s.quarantine:
            total = sum(r["rows_quarantined"] for r in s.quarantine)
            body = "".join(
                f"<tr><td>{esc(r['extract'])}</td><td>{esc(r['source_file'])}</td><td class='c'>{esc(r['reporting_month'])}</td>"
                f"<td>{esc(r['reason'])}</td><td class='n'>{num(r['rows_quarantined'])}</td></tr>"
                for r in s.quarantine[:LIST_LIMIT]
            )
            parts.append(
                f"<p>共 {num(total)} 行（一行有多个原因时每个原因各计一次），{num(len(s.quarantine))} 组。</p>"
                "<table><thead><tr><th>抽取</th><th>文件</th><th>月份</th><th>原因</th><th>行数</th></tr></thead>"
                f"<tbody>{body}</tbody></table>" + _more(len(s.quarantine))
            )
        else:
            parts.append('<p class="ok">无隔离的行。</p>')
        parts.append(
            self.source(
                [
                    "audit.quarantine_summary.extract",
                    "source_file",
                    "reporting_month",
                    "reason",
                    "rows_quarantined",
                ]
            )
        )
        parts.append("<h3>被拒收或被忽略的文件</h3>")
        problems = s.ledger_problems
        if problems:
            labels = {"rejected": "拒收", "ignored": "忽略"}
            body = "".join(
                f"<tr><td class='c'>{esc(labels.get(r['status'], r['status']))}</td><td>{esc(r['source_file'])}</td>"
                f"<td>{esc(r['extract'])}</td><td class='c'>{esc(r['reporting_month'])}</td><td>{esc(r['reason'])}</td></tr>"
                for r in problems[:LIST_LIMIT]
            )
            parts.append(
                f"<p>{num(len({r['source_file'] for r in problems}))} 个文件（共 {num(s.ledger_files)} 个文件）。</p>"
                "<table><thead><tr><th>状态</th><th>文件</th><th>抽取</th><th>月份</th><th>原因</th></tr></thead>"
                f"<tbody>{body}</tbody></table>" + _more(len(problems))
            )
        else:
            parts.append(f'<p class="ok">{num(s.ledger_files)} 个文件全部载入，无拒收。</p>')
        parts.append(
            self.source(["audit.ingest_ledger.status", "source_file", "extract", "reporting_month", "reason"])
        )
        parts.append("<h3>其他审计</h3>")
        other = {
            "unmatched_links_by_file": "无法关联的记录",
            "out_of_district_rows_by_file": "区外记录（保留，不计入指标）",
            "superseded_rows_by_file": "被重新报送取代的行",
        }
        items = [
            f"<tr><td>{esc(label)}</td><td class='n'>{num(s.other_audits[t])}</td><td class='src'><code>audit.{t}</code></td></tr>"
            for t, label in other.items()
            if t in s.other_audits
        ]
        warned = [
            f"<tr><td>{esc(r['asset'])}:{esc(r['check_name'])}（{esc(r['severity'])}）</td>"
            f"<td colspan='2'>{esc('; '.join(r['failed_expectations'] or [])[:300])}</td></tr>"
            for r in s.failed_checks[:LIST_LIMIT]
        ]
        parts.append(
            "<table><thead><tr><th>项目</th><th>数量 / 说明</th><th>表</th></tr></thead>"
            f"<tbody>{''.join(items)}"
            + (
                f"<tr class='section'><td colspan='3'>未通过的检查（{num(len(s.failed_checks))}）</td></tr>"
                + "".join(warned)
                if warned
                else "<tr><td>未通过的检查</td><td class='n'>0</td><td class='src'><code>audit.audit_results</code></td></tr>"
            )
            + "</tbody></table>"
        )
        parts.append(
            self.source([f"audit.{t}" for t in other if t in s.other_audits] + ["audit.audit_results.passed"])
        )
        parts.append("</section>")
        return "".join(parts)

    def delivery_summary(self) -> str:
        counts: dict[str, Counter] = defaultdict(Counter)
        units: dict[str, set] = defaultdict(set)
        for r in self.served.deliveries:
            counts[r["agency"]][r["status"]] += 1
            units[r["agency"]].add(r["unit_code"])
        statuses = list(DELIVERY_STATUS)
        body = "".join(
            f"<tr><td>{esc(AGENCIES.get(a, a))}</td><td class='n'>{len(units[a])}</td>"
            + "".join(
                f"<td class='n s-{st if counts[a][st] and st != 'on_time' else 'none'}'>{num(counts[a][st])}</td>"
                for st in statuses
            )
            + f"<td class='n'>{num(sum(counts[a].values()))}</td></tr>"
            for a in sorted(counts, key=lambda a: (_agency_rank(a), a))
        )
        head = "".join(f"<th>{esc(DELIVERY_STATUS[st][0])}</th>" for st in statuses)
        return (
            "<h4>各机构单位月份数</h4>"
            f"<table><thead><tr><th>机构</th><th>单位</th>{head}<th>合计</th></tr></thead><tbody>{body}</tbody></table>"
            + self.source(["audit.delivery_status.agency", "unit_code", "reporting_month", "status"])
        )

    def delivery_grid(self) -> str:
        rows = self.served.deliveries
        months = sorted({r["reporting_month"] for r in rows})
        shown = months[-GRID_MONTHS:]
        cells: dict[tuple, dict] = {(r["agency"], r["unit_code"], r["reporting_month"]): r for r in rows}
        units = sorted(
            {(r["agency"], r["unit_code"], r["unit_name"]) for r in rows},
            key=lambda u: (_agency_rank(u[0]), u[1]),
        )
        head = "".join(f"<th title='{esc(m)}'>{esc(m[2:4])}<br>{esc(m[5:])}</th>" for m in shown)
        body = []
        for agency, code, name in units:
            tds = []
            for m in shown:
                r = cells.get((agency, code, m))
                if r is None:
                    tds.append("<td class='s-none'></td>")
                    continue
                label, mark = DELIVERY_STATUS.get(r["status"], (r["status"], "?"))
                late = f"，迟 {r['days_late']} 天" if r.get("days_late") else ""
                tip = f"{name} {m}：{label}{late}"
                tds.append(f"<td class='s-{esc(r['status'])}' title='{esc(tip)}'>{esc(mark)}</td>")
            body.append(
                f"<tr><td class='unit'>{esc(AGENCIES.get(agency, agency))}</td><td class='unit'>{esc(name)}</td>{''.join(tds)}</tr>"
            )
        legend = "".join(
            f"<span class='s-{st}'>{esc(mark)} {esc(label)}</span>"
            for st, (label, mark) in DELIVERY_STATUS.items()
        )
        span = f"{shown[0]} 至 {shown[-1]}" if shown else ""
        return (
            f"<h4>报送网格（{esc(span)}{'，最近 ' + str(GRID_MONTHS) + ' 个月' if len(months) > GRID_MONTHS else ''}）</h4>"
            f"<p class='legend'>{legend}</p>"
            f"<table class='grid'><thead><tr><th class='unit'>机构</th><th class='unit'>单位</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            + self.source(["audit.delivery_status.unit_name", "reporting_month", "status", "days_late"])
        )

    def delivery_problems(self) -> str:
        rows = self.served.deliveries
        problems = [r for r in rows if r["status"] in ("rejected", "overdue")]
        out = ["<h4>未交与被拒（逾期未交、文件被拒收）</h4>"]
        if problems:
            body = "".join(
                f"<tr><td>{esc(AGENCIES.get(r['agency'], r['agency']))}</td><td>{esc(r['unit_name'])}</td>"
                f"<td class='c'>{esc(r['reporting_month'])}</td><td class='c'>{esc(r.get('due_date'))}</td>"
                f"<td class='c s-{esc(r['status'])}'>{esc(DELIVERY_STATUS[r['status']][0])}</td>"
                f"<td class='n'>{num(r.get('files_expected'))}</td><td class='n'>{num(r.get('files_delivered'))}</td>"
                f"<td class='n'>{num(r.get('files_rejected'))}</td><td class='n'>{num(r.get('files_missing'))}</td></tr>"
                for r in problems[:LIST_LIMIT]
            )
            out.append(
                f"<p>{num(len(problems))} 个单位月份。</p>"
                "<table><thead><tr><th>机构</th><th>单位</th><th>月份</th><th>截止日</th><th>状态</th>"
                "<th>应交文件</th><th>已交</th><th>被拒</th><th>缺</th></tr></thead>"
                f"<tbody>{body}</tbody></table>"
                + _more(len(problems))
                + self.source(
                    [
                        "audit.delivery_status.status",
                        "due_date",
                        "files_expected",
                        "files_delivered",
                        "files_rejected",
                        "files_missing",
                    ]
                )
            )
        else:
            out.append(
                '<p class="ok">没有逾期未交或被拒收的单位月份。</p>'
                + self.source(["audit.delivery_status.status"])
            )
        late: dict[tuple, list[int]] = defaultdict(list)
        for r in rows:
            if r["status"] == "late":
                late[(r["agency"], r["unit_name"])].append(r.get("days_late") or 0)
        if late:
            body = "".join(
                f"<tr><td>{esc(AGENCIES.get(a, a))}</td><td>{esc(n)}</td><td class='n'>{len(d)}</td>"
                f"<td class='n'>{num(max(d))}</td></tr>"
                for (a, n), d in sorted(
                    late.items(), key=lambda kv: (-len(kv[1]), _agency_rank(kv[0][0]), kv[0])
                )
            )
            out.append(
                "<h4>迟交（按单位）</h4><table><thead><tr><th>机构</th><th>单位</th><th>迟交月数</th>"
                f"<th>最多迟交天数</th></tr></thead><tbody>{body}</tbody></table>"
                + self.source(["audit.delivery_status.unit_name", "status", "days_late"])
            )
        return "".join(out)

    # --- the whole page ------------------------------------------------------------------------------

    def render(self) -> str:
        s = self.served
        districts = s.districts()
        body = (
            "".join(self.district(d) for d in districts)
            + f'<section class="lineage" id="lineage"><h2>指标口径：列级血缘</h2>{self.lineage()}</section>'
            + self.quality()
        )
        toc = "".join(f'<li><a href="#d-{esc(d)}">区划代码 {esc(d)}</a></li>' for d in districts)
        generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        svgs = charts.render_many(
            [(spec, prefix) for _token, spec, prefix in self.pending], cache=self.chart_cache
        )
        for (token, _spec, _prefix), svg in zip(self.pending, svgs, strict=True):
            body = body.replace(token, svg, 1)
        return (
            '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>人口和计划生育工作基本情况（{self.year}年）</title><style>{CSS}</style></head>"
            f"<body><main><header><h1>人口和计划生育工作基本情况（{self.year}年）</h1>"
            f'<p class="lead">{self.year}年与{self.prev}年对比；数据来自已发布的 serving.duckdb，'
            f"发布 run <code>{esc(s.run_id)}</code>，{esc(timestamp(s.published_at))}。"
            "指标定义见 metrics.md；比率由未舍入的原始合计计算，显示时四舍五入（远离零）到两位小数。</p>"
            f'<nav><strong>目录</strong><ul>{toc}<li><a href="#lineage">指标口径：列级血缘</a></li><li><a href="#quality">数据质量</a></li></ul></nav></header>'
            f"{body}"
            f"<footer>由 <code>pfpw report</code> 生成于 {generated}；只读取 serving.duckdb（schema marts 与 audit）。"
            f"本页不含脚本，不引用任何外部资源。</footer></main></body></html>\n"
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


def _more(n: int) -> str:
    return f"<p class='src'>仅列出前 {LIST_LIMIT} 行，共 {num(n)} 行。</p>" if n > LIST_LIMIT else ""


def render_page(served: Served, year: int, chart_cache: Path | None = None) -> str:
    return Page(served, year, chart_cache).render()
