"""`pfpw report`: the founding survey as one offline page, from serving.duckdb alone.

The sample is run once through the real pipeline (the session's `sample_run`); the report is
written by the command line from a copy of its served file, its figures are checked against the
founding report's (metrics.md, "The golden year") and against the marts themselves, and headless
Chromium opens the page with networking disabled. The screenshots (and the PDF) are kept in
$PFPW_TEST_ARTIFACTS (default tests/artifacts/, git-ignored) to be looked at.
"""

import contextlib
import html
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from dagster_project.cli import main
from dagster_project.console import Stage
from dagster_project.report import build as report_build
from dagster_project.report import build_report
from dagster_project.report.build import OFFLINE as REPORT_OFFLINE
from dagster_project.report.fmt import num, signed
from dagster_project.report.indicators import BASIC_SITUATION, CHANGE_UNITS
from tests.chromium import CHROMIUM, headless

PROJECT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("PFPW_TEST_ARTIFACTS") or PROJECT / "tests" / "artifacts")
YEAR, DISTRICT = 2012, "331003"
CHARTS = (
    "births-sex-ratio",
    "planned-birth-rate",
    "fee-rates",
    "enforcement",
    "stations",
    # the 月督查 section's (tests/test_report_supervision.py)
    "births-by-month",
    "sex-ratio-by-quarter",
    "filing-rate-by-month",
)
# the report's own (every connection to a closed local port), and every host name unresolvable
OFFLINE = [*REPORT_OFFLINE, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"]

# metrics.md, "The golden year": (line of the basic-situation table, 2012, 2011 or None, change or None)
GOLDEN = [
    ("出生人数", "6,287", None, None),
    ("政策外出生人数", "332", "326", None),
    ("计划生育率（%）", "94.72", None, None),
    ("男婴", "3,268", None, None),
    ("女婴", "3,018", None, None),
    ("出生人口性别比（女=100）", "108.28", None, None),
    ("人口自然增长率（‰）", "3.57", None, None),
    ("村（居）总数", "569", "569", None),
    ("有政策外出生的村（居）数", "215", "215", None),
    ("有政策外出生的村（居）占比（%）", "37.79", "37.79", None),
    ("应立案数（件）", "301", None, None),
    ("已立案数（件）", "293", None, None),
    ("立案符合规定数（件）", "213", None, None),
    ("立案率（%）", "97.34", None, "+7.71 个百分点"),
    ("征收率（%）", "91.00", None, "+5.04 个百分点"),
    ("符合率（%）", "70.76", None, None),  # its change: the report's +7.37 within ±0.05, below
    ("申请法院强制执行（件）", "415", "119", "+248.74%"),
    ("冻结划拨银行存款（元）", None, None, "+913.17%"),
    ("司法拘留（人）", "37", "8", None),
    ("查处“两非”案件（件）", "58", None, None),
    ("捣毁“两非”窝点（个）", "4", None, None),
    ("“两非”行政罚款（元）", "178,900.00", None, None),
    ("收回再生育证（本）", "2", None, None),
    ("刑事拘留（人）", "3", None, None),
    ("判刑（人）", "2", None, None),
    ("乡镇（街道）总数", "19", None, None),
    ("中心站", "3", None, None),
    ("一级站", "1", None, None),
    ("二级站", "9", None, None),
    ("省级“三优”指导中心", "1", None, None),
    ("区级“三优”指导中心", "2", None, None),
    ("出生缺陷发生率（‰）", None, None, "−3.42 个千分点"),
]
# the figures the issue names, as they must read on the page
HEADLINE = ("6,287", "94.72", "108.28", "97.34", "91.00", "70.76", "+248.74%")

pytestmark = pytest.mark.xdist_group("sample_run")  # one pipeline run of the sample per session


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def basic_table(page: str) -> dict[str, list[str]]:
    """The basic-situation table of the page's first district: label -> [this year, last year, change, columns]."""
    table = re.search(r'<table class="basic">(.*?)</table>', page, flags=re.S)
    assert table, "no basic-situation table on the page"
    lines = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), flags=re.S):
        cells = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if len(cells) == 5:
            lines[cells[0]] = cells[1:]
    return lines


@pytest.fixture(scope="module")
def report(sample_run, tmp_path_factory):
    """`pfpw report` on a warehouse holding a copy of the sample run's served file, and nothing else."""
    assert sample_run["code"] == 0, "the sample run failed"
    warehouse = tmp_path_factory.mktemp("report") / "warehouse"
    warehouse.mkdir()
    shutil.copy(sample_run["warehouse"] / "serving.duckdb", warehouse / "serving.duckdb")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", "--warehouse", str(warehouse)])
    assert code == 0, err.getvalue()
    page = warehouse / "report" / "index.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(page, ARTIFACTS / "report_index.html")
    if (warehouse / "report" / "report.pdf").exists():
        shutil.copy(warehouse / "report" / "report.pdf", ARTIFACTS / "report.pdf")
    return {
        "warehouse": warehouse,
        "page": page,
        "html": page.read_text(encoding="utf-8"),
        "stdout": out.getvalue(),
    }


def test_the_pipeline_writes_the_report_after_publishing(sample_run):
    folder = sample_run["warehouse"] / "report"
    assert (folder / "index.html").is_file(), "the report/survey_report asset did not run in `pfpw run`"
    if CHROMIUM:
        assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")], "a temporary file was left"


def test_pfpw_report_prints_what_it_wrote(report):
    lines = report["stdout"].splitlines()
    assert f"{YEAR} against {YEAR - 1}" in lines[0] and DISTRICT in lines[0]
    assert str(report["page"]) in lines
    pdf = report["page"].with_name("report.pdf")
    if CHROMIUM:
        assert str(pdf) in lines and pdf.read_bytes()[:5] == b"%PDF-"
    else:
        assert not pdf.exists() and any("no PDF" in line for line in lines)


def test_the_golden_figures_are_on_the_page(report):
    page = report["html"]
    text = text_of(page)
    for figure in HEADLINE:
        assert figure in text, f"{figure} is not on the page"
    lines = basic_table(page)
    for label, this_year, last_year, change in GOLDEN:
        assert label in lines, f"no line {label!r} in the basic-situation table"
        shown = lines[label]
        if this_year is not None:
            assert shown[0] == this_year, (label, shown)
        if last_year is not None:
            assert shown[1] == last_year, (label, shown)
        if change is not None:
            assert shown[2] == change, (label, shown)
    # the report's compliance-rate change is itself rounded: within ±0.05 of +7.37
    compliance = lines["符合率（%）"][2]
    assert compliance.endswith(" 个百分点") and compliance.startswith("+")
    assert abs(float(compliance.split()[0]) - 7.37) <= 0.05, compliance


def test_every_line_is_the_mart_column_as_the_mart_holds_it(report):
    """Nothing recomputed: each line is its mart column, rounded half away from zero for display."""
    lines = basic_table(report["html"])
    con = duckdb.connect(str(report["warehouse"] / "serving.duckdb"), read_only=True)
    try:
        for section in BASIC_SITUATION:
            for line in section.lines:
                cols = [line.column] + ([line.change] if line.change else [])
                this, last = (
                    con.execute(
                        f"select {', '.join(cols)} from marts.{section.mart} where district_code = ? and year = ?",
                        [DISTRICT, year],
                    ).fetchone()
                    for year in (YEAR, YEAR - 1)
                )
                shown = lines[line.label]
                assert shown[0] == num(this[0], line.places), (line.label, shown, this)
                assert shown[1] == num(last[0], line.places), (line.label, shown, last)
                if line.change:
                    assert shown[2] == signed(this[1], 2, CHANGE_UNITS[line.change_kind]), (line.label, shown)
                assert shown[3] == " ".join(cols)
    finally:
        con.close()


def test_the_page_is_self_contained_and_says_where_every_figure_comes_from(report):
    page = report["html"]
    for pattern in (
        r"""\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""",
        r"""url\(\s*["']?\s*(?:https?:)?//""",
        r"<script\b",
        r"<link\b",
        r"<iframe\b",
        r"@import\b",
        r"@font-face\b",
    ):
        found = re.search(pattern, page, flags=re.I)
        assert not found, f"the page loads something: {page[max(0, found.start() - 80) : found.end() + 80]!r}"
    assert not re.search(r"https?://", page), "the page names a URL"

    con = duckdb.connect(str(report["warehouse"] / "serving.duckdb"), read_only=True)
    run_id = con.execute("select run_id from audit.publication").fetchone()[0]
    con.close()
    figures = re.findall(r'<figure class="chart"[^>]*data-chart="([^"]+)"', page)
    assert sorted(figures) == sorted(CHARTS)
    # under every figure and every table: a source line naming a mart or audit column and the publication
    blocks = [m.end() for m in re.finditer(r"</figure>|</table>", page)]
    for end in blocks:
        following = page[end:]
        nxt = re.search(r'<p class="src">(.*?)</p>', following, flags=re.S)
        other = re.search(r"<table\b|<figure\b", following)
        assert nxt and (not other or nxt.start() < other.start()), (
            f"no source under {page[end - 200 : end]!r}"
        )
        assert re.search(r"(marts|audit)\.\w+", nxt.group(1)) and run_id in nxt.group(1), nxt.group(1)
    # the data-quality panel: delivery grid and problems, quarantine, rejected files
    for heading in ("数据质量", "报送网格", "未交与被拒", "隔离的行", "被拒收或被忽略的文件"):
        assert heading in page, heading
    assert (
        "audit.delivery_status" in page
        and "audit.quarantine_summary" in page
        and "audit.ingest_ledger" in page
    )
    # township rankings and the village drill-down
    assert "乡镇（街道）排名" in page and "计划生育率最高的" in page and "计划生育率最低的" in page


def marks(svg: str) -> int:
    """Drawn marks of a Vega SVG: the paths and lines inside its mark groups (axes and legends not counted)."""
    count = 0
    for group in re.findall(
        r'<g class="mark-(?:rect|line|symbol|rule|area|arc|trail)\s+role-mark[^"]*"[^>]*>(.*?)</g>',
        svg,
        flags=re.S,
    ):
        count += len(re.findall(r'<path\b[^>]*\sd="[Mm][^"]+"', group)) + len(re.findall(r"<line\b", group))
    return count


def test_a_year_before_the_first_shows_dashes_and_a_year_not_covered_is_refused(report, tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(report["warehouse"] / "serving.duckdb", warehouse / "serving.duckdb")
    earlier = build_report(warehouse, year=YEAR - 1, pdf=False)
    assert earlier.year == YEAR - 1 and earlier.pdf is None
    lines = basic_table(earlier.html.read_text(encoding="utf-8"))
    assert lines["出生人数"][:2] == ["6,105", "—"]
    assert lines["申请法院强制执行（件）"][2] == "—"  # no 2010 in the marts: the mart's change is NULL
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["report", "--warehouse", str(warehouse), "--year", str(YEAR - 2)]) == 2
    assert "not a covered year" in err.getvalue()


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed here (CI installs it: apt-get install chromium)",
)
def test_a_page_too_large_to_print_in_bounded_memory_gets_no_pdf_and_says_why(report, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(report["warehouse"] / "serving.duckdb", warehouse / "serving.duckdb")
    printed = build_report(warehouse)
    assert printed.pdf is not None and printed.pdf.read_bytes()[:5] == b"%PDF-"
    # the sample's page (about 0.4 MiB) against a bound below it: Chromium is not started, the old PDF leaves
    monkeypatch.setattr(report_build, "PDF_MAX_PAGE_BYTES", printed.html.stat().st_size - 1)
    monkeypatch.setattr(report_build.subprocess, "run", lambda *a, **k: pytest.fail("chromium was started"))
    bounded = build_report(warehouse)
    assert bounded.pdf is None and not (warehouse / "report" / "report.pdf").exists()
    assert any(n.startswith("no PDF: the page is 0.4 MiB, above the 0 MiB") for n in bounded.notes), (
        bounded.notes
    )
    assert bounded.html.is_file()
    # what `pfpw run` prints of the report's run: the note, not a missing Chromium
    stage = Stage(
        "report", materializations=[("report", {"report_year": YEAR, "pdf": "; ".join(bounded.notes)})]
    )
    assert stage.describe() == (
        f"report/index.html for {YEAR}, no PDF: the page is 0.4 MiB, above the 0 MiB Chromium prints within "
        "bounded memory"
    )


def test_pfpw_report_on_a_folder_without_a_publication_exits_2(tmp_path, capsys):
    assert main(["report", "--warehouse", str(tmp_path)]) == 2
    assert "serving.duckdb" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed here (CI installs it: apt-get install chromium)",
)
def test_chromium_renders_every_chart_offline(report, tmp_path):
    assert CHROMIUM, "CI must have chromium (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = report["page"].resolve().as_uri()
    dom = None
    for name, window, dump in (
        ("report_top.png", "1280,1800", False),
        ("report_full.png", "1280,20000", True),  # the whole page, the 月督查 sections included
    ):
        shot = ARTIFACTS / name
        shot.unlink(missing_ok=True)
        run = subprocess.run(
            [
                *headless(tmp_path / "chromium" / shot.stem, window=window),
                *OFFLINE,
                f"--screenshot={shot}",
                *(["--dump-dom"] if dump else []),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert shot.exists() and shot.stat().st_size > 10_000, f"no screenshot: {run.stderr[-800:]}"
        if dump:
            dom = run.stdout
    assert dom and "</html>" in dom, "chromium dumped no DOM"
    text = text_of(dom)
    for figure in HEADLINE:
        assert figure in text, f"{figure} is not on the rendered page"
    figures = dict(
        re.findall(r'<figure class="chart"[^>]*data-chart="([^"]+)"[^>]*>(.*?)</figure>', dom, flags=re.S)
    )
    assert sorted(figures) == sorted(CHARTS)
    townships = 19
    for slug, body in figures.items():
        assert "<svg" in body, f"{slug}: no SVG"
        assert marks(body) > 0, f"{slug}: the chart has no marks"
        # the labels are text in the page's CJK font, not outlines
        assert re.search(r"<text\b[^>]*>[^<]*[\u4e00-\u9fff]", body), f"{slug}: no Chinese text"
    assert marks(figures["births-sex-ratio"]) >= 2 * townships  # a bar and a point a township, and the line
    assert marks(figures["planned-birth-rate"]) >= townships + 1  # the bars and the district line
    assert marks(figures["fee-rates"]) >= 3 * townships  # three rates, both years
    assert marks(figures["births-by-month"]) >= 2 * 2 * 12  # births and unplanned births, two years of months
    assert marks(figures["sex-ratio-by-quarter"]) >= 2 * 4  # a point a quarter, two years
    assert marks(figures["filing-rate-by-month"]) >= 2 * 12 + 1  # a point a month, two years, the target
    print(f"screenshots: {ARTIFACTS / 'report_top.png'}, {ARTIFACTS / 'report_full.png'}")


def test_charts_unchanged_since_the_last_page_are_not_rendered_again(report, tmp_path, monkeypatch):
    """The page's charts are kept in report/.charts by digest: a second page of the same served file
    renders none, a year whose figures differ renders its own, and the folder keeps only the page's."""
    from dagster_project.report import svg

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(report["warehouse"] / "serving.duckdb", warehouse / "serving.duckdb")
    rendered = []
    real = svg._render_all
    monkeypatch.setattr(
        svg, "_render_all", lambda items, workers=None: rendered.append(len(items)) or real(items)
    )

    first = build_report(warehouse, pdf=False).html.read_text(encoding="utf-8")
    cache = warehouse / "report" / ".charts"
    figures = first.count('<figure class="chart"')
    assert figures >= 5 and rendered == [len(list(cache.glob("*.svg")))] and rendered[0] >= figures - 1
    again = build_report(warehouse, pdf=False).html.read_text(encoding="utf-8")
    assert rendered[1] == 0  # nothing rendered: every chart came from the cache

    def strip(html: str) -> str:  # the time of writing; vl-convert numbers clip paths per process
        html = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", "", html)
        return re.sub(r"(fig\d+-[a-z_]+?)\d+\b", r"\1", html)

    assert strip(again) == strip(first)
    assert strip(again) == strip(report["html"])  # the page `pfpw report` wrote without the cache's help

    build_report(warehouse, year=YEAR - 1, pdf=False)
    assert rendered[2] > 0
    assert len(list(cache.glob("*.svg"))) <= figures  # only the charts of the last page are kept


HOSTILE = ('<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)")


def test_names_and_reasons_from_the_files_are_escaped_on_the_page(report, tmp_path):
    """Township and village names, file names and reasons come from delivered files: whatever they hold,
    the page shows them as text, never as markup (a `<script>` or an `onerror` never runs)."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(report["warehouse"] / "serving.duckdb", warehouse / "serving.duckdb")
    con = duckdb.connect(str(warehouse / "serving.duckdb"))
    try:
        for table in (
            "population_indicators",
            "fee_collection",
            "enforcement_outcomes",
            "service_station_coverage",
            "population_indicators_monthly",  # the names of the 月督查 scorecard
        ):
            con.execute(f"update marts.{table} set township_name = township_name || ?", [HOSTILE[0]])
        con.execute("update marts.village_indicators set village_name = village_name || ?", [HOSTILE[1]])
        con.execute(
            "update audit.ingest_ledger set source_file = source_file || ?, reason = ?",
            [HOSTILE[2], HOSTILE[1]],
        )
    finally:
        con.close()
    page = build_report(warehouse, pdf=False).html.read_text(encoding="utf-8")
    assert html.escape(HOSTILE[0]) in page or HOSTILE[0].replace("<", "&lt;") in page
    for raw in ("<script>alert", "<img src=x", "onerror=alert(1)>", "' onmouseover='"):
        assert raw not in page, raw
