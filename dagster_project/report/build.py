"""Build the report of a warehouse: read the served file, write the page atomically, print it to PDF."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import atomic
from dagster_project.report.data import load
from dagster_project.report.page import render_page
from dagster_project.state import code_digest

PDF_TIMEOUT_S = 180
# Chromium's memory grows with the page it prints (about 160 times its size: 5.2 GB for the 32 MiB page of a
# province's 90 districts; by that ratio 2.6 GB at 16 MiB): a larger page gets no PDF, and a note that says why
PDF_MAX_PAGE_BYTES = 16 * 2**20
# what the page in report/ was built from (the publication, the code, the year): a report run for the same
# publication and code reuses the page instead of rendering and printing it again
STAMP = ".built_from.json"


class NoServingDatabase(Exception):
    pass


class YearNotCovered(Exception):
    pass


@dataclass
class Report:
    html: Path
    year: int
    districts: list[str]
    run_id: str
    pdf: Path | None = None
    notes: list[str] = field(default_factory=list)
    reused: bool = False  # the page of an earlier report run of the same publication and code

    @property
    def paths(self) -> list[Path]:
        return [self.html] + ([self.pdf] if self.pdf else [])


# Headless Chromium as the report prints with it (and the tests drive it): no sandbox, no GPU, no background
# traffic of its own; the caller adds its own fresh profile folder (--user-data-dir).
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# no request leaves the machine: every connection goes to a closed local port
OFFLINE = ("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def served_publication(warehouse: Path) -> str | None:
    """The run id of the publication ``serving.duckdb`` holds (None: no served file, or not readable)."""
    serving = Path(warehouse) / "serving.duckdb"
    if not serving.is_file():
        return None
    try:
        con = duckdb.connect(str(serving), read_only=True)
        try:
            row = con.execute("select run_id from audit.publication").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return None
    return str(row[0]) if row else None


def current_report(warehouse: Path) -> Report | None:
    """The report in ``<warehouse>/report`` when it was built from the served publication with this code
    (its year the latest covered one), else None: the report is then to be built again."""
    out = Path(warehouse) / "report"
    try:
        stamp = json.loads((out / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    page, pdf = out / "index.html", out / "report.pdf"
    if (
        not isinstance(stamp, dict)
        or stamp.get("publication") != served_publication(warehouse)
        or stamp.get("code") != code_digest()
        or not page.is_file()
        or (stamp.get("pdf") and not pdf.is_file())
    ):
        return None
    try:
        return Report(
            page,
            int(stamp["year"]),
            [str(d) for d in stamp["districts"]],
            str(stamp["publication"]),
            pdf if stamp.get("pdf") else None,
            [str(n) for n in stamp.get("notes", [])],
            reused=True,
        )
    except (KeyError, TypeError, ValueError):  # a stamp edited or cut short: the page is built again
        return None


def build_report(warehouse: Path, year: int | None = None, pdf: bool = True, reuse: bool = False) -> Report:
    """``<warehouse>/report/index.html`` (and ``report.pdf`` when Chromium is on PATH) from ``serving.duckdb``.

    ``year``: the report year, compared with the year before; default the latest covered year.
    ``reuse``: the report already built from the served publication with this code is kept as it is
    (:func:`current_report`), as the report run after a night does; ``pfpw report`` builds it again.
    """
    warehouse = Path(warehouse)
    serving = warehouse / "serving.duckdb"
    if not serving.is_file():
        raise NoServingDatabase(
            f"no {serving}: run `pfpw run` first (the report reads the published file only)"
        )
    if reuse and year is None and pdf and (kept := current_report(warehouse)) is not None:
        return kept
    served = load(serving)
    years = served.years()
    if not years:
        raise YearNotCovered(f"{serving} holds no covered year")
    year = years[-1] if year is None else year
    if year not in years:
        raise YearNotCovered(
            f"{year} is not a covered year of {serving} (covered: {', '.join(map(str, years))})"
        )
    out = warehouse / "report"
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP).unlink(missing_ok=True)  # the page is being replaced: no stamp until it is whole again
    page = out / "index.html"
    atomic.write_text(page, render_page(served, year, chart_cache=out / ".charts"))
    report = Report(page, year, served.districts(), served.run_id)
    if pdf:
        report.pdf, note = print_pdf(page, out / "report.pdf")
        if note:
            report.notes.append(note)
    if year == years[-1] and pdf:  # the page a report run after a night would build: kept for the next one
        stamp = {
            "publication": served.run_id,
            "code": code_digest(),
            "year": year,
            "districts": report.districts,
            "pdf": report.pdf is not None,
            "notes": report.notes,
        }
        atomic.write_text(out / STAMP, json.dumps(stamp, ensure_ascii=False, sort_keys=True))
    return report


def print_pdf(page: Path, target: Path) -> tuple[Path | None, str]:
    """Headless Chromium's print-to-PDF of the page, networking off; (None, why) when it cannot.

    A PDF of an older page is removed rather than left beside the new page.
    """
    browser = chromium()
    if browser is None:
        target.unlink(missing_ok=True)
        return None, "no PDF: chromium is not on PATH (Debian: apt-get install chromium fonts-noto-cjk)"
    size = page.stat().st_size
    if size > PDF_MAX_PAGE_BYTES:
        target.unlink(missing_ok=True)
        return None, (
            f"no PDF: the page is {size / 2**20:.1f} MiB, above the {PDF_MAX_PAGE_BYTES / 2**20:.0f} MiB "
            "Chromium prints within bounded memory (its memory grows with the page: a province's 32 MiB page "
            "took 5.2 GB); print the districts needed from index.html in a browser"
        )
    tmp = atomic.temporary(target)
    with tempfile.TemporaryDirectory(prefix="pfpw-report-chromium-") as profile:
        args = [
            browser,
            *HEADLESS,
            f"--user-data-dir={profile}",
            *OFFLINE,
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            page.resolve().as_uri(),
        ]
        try:
            run = subprocess.run(args, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tmp.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            return None, f"no PDF: chromium failed ({exc})"
    if not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        return None, f"no PDF: chromium exited {run.returncode}: {run.stderr.strip()[-300:]}"
    atomic.replace(tmp, target)
    return target, ""
