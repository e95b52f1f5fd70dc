"""The survey report: the founding document regenerated from the served database after every publication.

Off the night's critical path: the nightly job ends with the publication; the report is its own job
(``pfpw_report``), run after a night that published (by ``pfpw run``, or by the daemon's
``report_after_publication`` sensor), and it keeps the page already built from the same publication
and code instead of rendering it again."""

import dagster as dg

from dagster_project.defs.ingestion.keys import REPORT_KEY, SERVING_KEY
from dagster_project.defs.resources import PfpwPaths


@dg.asset(
    key=REPORT_KEY,
    deps=[SERVING_KEY],
    group_name="report",
    kinds={"html", "pdf"},
    description="<warehouse>/report/index.html: the founding survey regenerated from serving.duckdb alone "
    "(the basic-situation table of the latest covered year against the year before, charts, township "
    "rankings, the village drill-down, a data-quality panel), one self-contained page that opens offline; "
    "report/report.pdf beside it when Chromium is on PATH. `pfpw report` writes the same. Its own job "
    "(pfpw_report), after a night's publication: the night does not wait for it.",
    op_tags={"pfpw/stage": "report"},
)
def survey_report(context: dg.AssetExecutionContext, paths: PfpwPaths) -> dg.MaterializeResult:
    from dagster_project.report import build_report

    # a missing Chromium is a note, never a failure; the page of this publication and code is kept
    report = build_report(paths.warehouse, reuse=True)
    for note in report.notes:
        context.log.warning(note)
    metadata = {
        "path": dg.MetadataValue.path(str(report.html)),
        "report_year": report.year,
        "districts": dg.MetadataValue.json(report.districts),
        "publication_run_id": report.run_id,
        "reused": report.reused,
        "pdf": dg.MetadataValue.path(str(report.pdf))
        if report.pdf
        else dg.MetadataValue.text("; ".join(report.notes)),
    }
    return dg.MaterializeResult(metadata=metadata)
