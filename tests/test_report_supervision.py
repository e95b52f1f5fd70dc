"""The report's 月督查 (monthly supervision) section, against the marts it is read from.

On a copy of the sample run's served file (the session's `sample_run`): the section shows the
district's latest covered month; its year-to-date table, township scorecard, district targets and
city ranking are the cells of the monthly and target marts (queried here), formatted by the report's
own helpers; a quarter's sex ratio is 100 × the quarter's boys / its girls, summed over its months.
Copies altered with SQL show the rest: no targets, a year to date after the last complete year, a
city of two districts.
"""

import re
import shutil

import duckdb
import pytest

from dagster_project.report import build_report
from dagster_project.report.data import MARTS
from dagster_project.report.fmt import MISSING, num, signed
from dagster_project.report.indicators import CHANGE_UNITS
from dagster_project.report.supervision import BOUNDS, TARGETS, YEAR_TO_DATE
from tests.test_report import text_of

pytestmark = pytest.mark.xdist_group("sample_run")  # one pipeline run of the sample per session

DISTRICT = "331003"
# the marts of the section, which the report reads
MONTHLY = tuple(m for m in MARTS if m.endswith("_monthly") or m.startswith("target_"))


def served_copy(sample_run, folder) -> tuple:
    folder.mkdir(parents=True)
    shutil.copy(sample_run["warehouse"] / "serving.duckdb", folder / "serving.duckdb")
    return folder, folder / "serving.duckdb"


def query(serving, sql: str, params=None) -> list[dict]:
    with duckdb.connect(str(serving), read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def section(page: str, district: str = DISTRICT) -> str:
    """The district's 月督查 section: from its heading to the end of the district's section."""
    start = page.index(f'<h3 id="m-{district}">')
    return page[start : page.index("</section>", start)]


def table(html: str, css: str) -> list[list[str]]:
    found = re.search(rf'<table class="{css}"[^>]*>(.*?)</table>', html, flags=re.S)
    assert found, f"no table {css}"
    return [
        [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), flags=re.S)
        if "<td" in row
    ]


def latest_month(serving, district: str = DISTRICT) -> tuple[int, int]:
    (row,) = query(
        serving,
        "select year, month from marts.population_indicators_district_monthly where district_code = ? "
        "order by year desc, month desc limit 1",
        [district],
    )
    return row["year"], row["month"]


@pytest.fixture(scope="module")
def report(sample_run, tmp_path_factory):
    assert sample_run["code"] == 0, "the sample run failed"
    warehouse, serving = served_copy(sample_run, tmp_path_factory.mktemp("supervision") / "warehouse")
    page = build_report(warehouse, pdf=False).html.read_text(encoding="utf-8")
    return {"serving": serving, "html": page, "section": section(page)}


def test_the_section_shows_the_districts_latest_month(report):
    year, month = latest_month(report["serving"])
    assert (year, month) == (2012, 12)  # the sample: two complete years
    html = report["section"]
    assert f"月督查（{year}年{month}月）" in text_of(html)
    assert f'data-year="{year}" data-month="{month}"' in html
    assert f'<a href="#m-{DISTRICT}">月督查</a>' in report["html"]
    figures = re.findall(r'<figure class="chart"[^>]*data-chart="([^"]+)"', html)
    assert figures == ["births-by-month", "sex-ratio-by-quarter", "filing-rate-by-month"]
    assert "births-by-year" not in report["html"]  # the chart by year is replaced by the one by month


def test_the_year_to_date_is_the_marts_against_the_same_month_last_year(report):
    year, month = latest_month(report["serving"])
    shown = {r[0]: r[1:] for r in table(report["section"], "ytd") if len(r) == 5}
    checked = 0
    for part in YEAR_TO_DATE:
        this, last = (
            query(
                report["serving"],
                f"select * from marts.{part.mart} where district_code = ? and year = ? and month = ?",
                [DISTRICT, y, month],
            )[0]
            for y in (year, year - 1)
        )
        for line in part.lines:
            cells = shown[line.label]
            assert cells[0] == num(this[line.column], line.places), (line.label, cells)
            assert cells[1] == num(last[line.column], line.places), (line.label, cells)
            change = signed(this[line.change], 2, CHANGE_UNITS[line.change_kind]) if line.change else MISSING
            assert cells[2] == change, (line.label, cells)
            assert cells[3] == " ".join([line.column] + ([line.change] if line.change else []))
            checked += 1
    assert checked == len(shown) == sum(len(p.lines) for p in YEAR_TO_DATE)
    # the founding report's year, as of December: the golden figures and changes
    for label, figure in (("出生人数", "6,287"), ("立案率（%）", "97.34"), ("申请法院强制执行（件）", "415")):
        assert shown[label][0] == figure
    assert shown["立案率（%）"][2] == "+7.71 个百分点" and shown["申请法院强制执行（件）"][2] == "+248.74%"


def test_the_township_scorecard_is_the_target_marts(report):
    year, month = latest_month(report["serving"])
    cards = query(
        report["serving"],
        "select * from marts.target_scorecard where year = ? and month = ? and area_level = 'township' "
        "and area_code like ? order by rank, area_code",
        [year, month, f"{DISTRICT}%"],
    )
    targets = query(
        report["serving"],
        "select * from marts.target_attainment where year = ? and month = ? and area_level = 'township'",
        [year, month],
    )
    names = {
        r["township_code"]: r["township_name"]
        for r in query(
            report["serving"],
            "select township_code, township_name from marts.population_indicators_monthly "
            "where year = ? and month = ?",
            [year, month],
        )
    }
    assert len(cards) == 19 and {c["peers"] for c in cards} == {19}
    html = report["section"]
    rows = re.findall(r'<tr data-area="(\d{9})">(.*?)</tr>', html, flags=re.S)
    assert [code for code, _ in rows] == [c["area_code"] for c in cards]  # by rank
    headers = re.findall(r"<th>(.*?)</th>", re.search(r'<table class="scorecard">.*?</thead>', html, re.S)[0])
    for (code, row), card in zip(rows, cards, strict=True):
        cells = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        assert cells[:5] == [
            f"{card['rank']} / {card['peers']}",
            names[code],
            num(card["score"], 2),
            f"{card['targets_met']} / {card['targets_total']}",
            f"{card['points_earned']} / {card['points_possible']}",
        ]
        mine = {t["indicator"]: t for t in targets if t["area_code"] == code}
        cells_by_indicator = dict(re.findall(r'data-indicator="(\w+)">(.*?)</td>', row, flags=re.S))
        assert set(cells_by_indicator) == {i for i in TARGETS if any(i == t["indicator"] for t in targets)}
        for indicator, cell in cells_by_indicator.items():
            if indicator not in mine:
                assert text_of(cell) == MISSING
                continue
            t, places = mine[indicator], TARGETS[indicator][1]
            mark = {True: "✓", False: "✗", None: MISSING}[t["met"]]
            target = f"{BOUNDS[t['bound']]} {num(t['target'], places)}"
            assert text_of(cell) == f"{num(t['actual'], places)} {mark} {target}", (code, indicator, cell)
        assert len(cells) == 5 + len(cells_by_indicator) == len(headers)
    # the sample: some townships miss some of their targets
    assert any(t["met"] is False for t in targets) and "✗" in html


def test_the_districts_targets_and_its_place_in_the_city(report):
    year, month = latest_month(report["serving"])
    (card,) = query(
        report["serving"],
        "select * from marts.target_scorecard where year = ? and month = ? and area_code = ?",
        [year, month, DISTRICT],
    )
    goals = query(
        report["serving"],
        "select * from marts.target_attainment where year = ? and month = ? and area_code = ?",
        [year, month, DISTRICT],
    )
    # the founding report: the district completed every task the city set and ranked first
    assert (card["targets_met"], card["targets_total"], card["rank"], card["peers"]) == (9, 9, 1, 1)
    text = text_of(report["section"])
    assert f"全区综合得分 {num(card['score'], 2)}，达标 9 / 9 项，全市第 1 名（共 1 个区）" in text
    shown = {r[0]: r[1:] for r in table(report["section"], "district-targets")}
    assert len(shown) == len(goals) == 9
    for g in goals:
        label, places = TARGETS[g["indicator"]]
        assert shown[label] == [
            f"{BOUNDS[g['bound']]} {num(g['target'], places)}",
            num(g["actual"], places),
            "✓" if g["met"] else "✗",
            str(g["points"]),
            str(g["points_earned"]),
            f"{g['rank']} / {g['peers']}",
        ]
    assert table(report["section"], "city") == [
        ["1 / 1", DISTRICT, num(card["score"], 2), "9 / 9", "100 / 100"]
    ]


def test_a_quarters_sex_ratio_is_built_from_the_sums_of_its_months(report):
    rows = table(report["section"], "quarters")
    assert [r[0] for r in rows] == [f"{y}年{q}季度" for y in (2011, 2012) for q in "一二三四"]
    for r in rows:
        year, quarter = int(r[0][:4]), "一二三四".index(r[0][5]) + 1
        (sums,) = query(
            report["serving"],
            "select sum(boys) as boys, sum(girls) as girls, count(*) as months "
            "from marts.population_indicators_district_monthly "
            "where district_code = ? and year = ? and month between ? and ?",
            [DISTRICT, year, 3 * quarter - 2, 3 * quarter],
        )
        assert sums["months"] == 3
        assert r[1:] == [
            f"{3 * quarter - 2}–{3 * quarter}月",
            num(sums["boys"]),
            num(sums["girls"]),
            num(100 * sums["boys"] / sums["girls"], 2),
        ], r
    # the quarter's ratio is not the mean of its months' ratios (nor the year to date's)
    months = query(
        report["serving"],
        "select boys, girls from marts.population_indicators_district_monthly "
        "where district_code = ? and year = 2012 and month <= 3 order by month",
        [DISTRICT],
    )
    mean = sum(100 * m["boys"] / m["girls"] for m in months) / 3
    assert rows[4][4] != num(mean, 2)


def test_a_warehouse_without_targets_shows_the_section_and_says_so(sample_run, tmp_path):
    """No targets.csv leaves the target marts empty; an older publication has none at all."""
    for case in ("empty", "absent"):
        warehouse, serving = served_copy(sample_run, tmp_path / case)
        with duckdb.connect(str(serving)) as con:
            for mart in ("target_attainment", "target_scorecard"):
                con.execute(f"delete from marts.{mart}" if case == "empty" else f"drop table marts.{mart}")
        html = section(build_report(warehouse, pdf=False).html.read_text(encoding="utf-8"))
        text = text_of(html)
        assert "月督查（2012年12月）" in text
        assert "2012年12月没有考核目标" in text, case
        assert '<table class="scorecard"' not in html and '<table class="city"' not in html
        assert '<table class="ytd"' in html and len(re.findall(r"<figure ", html)) == 3  # the rest is there


def test_a_year_to_date_after_the_last_complete_year_is_the_month_shown(sample_run, tmp_path):
    """The monthly marts hold January to May of a year no yearly mart covers: the report of the last
    complete year shows that year to date; the report of an earlier year shows its own December."""
    warehouse, serving = served_copy(sample_run, tmp_path / "ytd")
    with duckdb.connect(str(serving)) as con:
        for mart in MONTHLY:
            con.execute(f"delete from marts.{mart} where year = 2012 and month > 5")
        for (mart,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' and table_name not like '%monthly' "
            "and table_name not like 'target%'"
        ).fetchall():
            con.execute(f"delete from marts.{mart} where year = 2012")
    report = build_report(warehouse, pdf=False)
    assert report.year == 2011
    html = section(report.html.read_text(encoding="utf-8"))
    text = text_of(html)
    assert "月督查（2012年5月）" in text and "当年累计与上年同期（1–5月）" in text
    ytd = {r[0]: r[1:] for r in table(html, "ytd") if len(r) == 5}
    (may,) = query(
        serving,
        "select births_ytd, births_ytd_yoy_pct from marts.population_indicators_district_monthly "
        "where year = 2012 and month = 5",
    )
    assert ytd["出生人数"][0] == num(may["births_ytd"]) and ytd["出生人数"][2] == signed(
        may["births_ytd_yoy_pct"], 2, "%"
    )
    quarters = table(html, "quarters")
    assert quarters[-1][:2] == ["2012年二季度", "4–5月"]  # a quarter of two months, and said so
    assert "2012年二季度仅含 4–5月" in text
    # where 2012 is a complete year, the report of 2011 shows 2011's December
    warehouse, _ = served_copy(sample_run, tmp_path / "complete")
    earlier = build_report(warehouse, year=2011, pdf=False).html.read_text(encoding="utf-8")
    assert "月督查（2011年12月）" in text_of(section(earlier))


def test_a_city_of_two_districts_ranks_them(sample_run, tmp_path):
    """A second district of the same city (331004: a copy of 331003's rows with a lower score): each
    district's section ranks both, as target_scorecard's district rows say."""
    warehouse, serving = served_copy(sample_run, tmp_path / "two")
    with duckdb.connect(str(serving)) as con:
        for (mart,) in con.execute(
            "select distinct table_name from duckdb_columns() where schema_name = 'marts' "
            "and column_name in ('district_code', 'area_code')"
        ).fetchall():
            columns = {
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?",
                    [mart],
                ).fetchall()
            }
            codes = ("district_code", "township_code", "village_code", "area_code", "parent_code")
            swap = [c for c in codes if c in columns]
            replace = ", ".join(f"replace({c}, '{DISTRICT}', '331004') as {c}" for c in swap)
            con.execute(f"insert into marts.{mart} select * replace ({replace}) from marts.{mart}")
        con.execute(
            "update marts.target_scorecard set points_earned = 80, targets_met = 7, score = 80.0, rank = 2 "
            "where area_code = '331004'"
        )
        con.execute("update marts.target_scorecard set peers = 2 where area_level = 'district'")
    page = build_report(warehouse, pdf=False).html.read_text(encoding="utf-8")
    rows = query(
        serving,
        "select * from marts.target_scorecard where year = 2012 and month = 12 and area_level = 'district' "
        "order by rank",
    )
    expected = [
        [
            f"{r['rank']} / 2",
            r["area_code"],
            num(r["score"], 2),
            f"{r['targets_met']} / 9",
            f"{r['points_earned']} / 100",
        ]
        for r in rows
    ]
    assert expected[1][:3] == ["2 / 2", "331004", "80.00"]
    for district in (DISTRICT, "331004"):
        html = section(page, district)
        assert table(html, "city") == expected
        assert re.search(rf'<tr data-area="{district}" class="me">', html)
    assert "全市第 2 名（共 2 个区）" in text_of(section(page, "331004"))
