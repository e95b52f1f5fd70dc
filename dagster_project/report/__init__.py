"""``pfpw report``: the founding survey regenerated from ``serving.duckdb`` as one self-contained page.

Reads the served file only (read-only), never the working database: what the page shows is exactly
what BI sees, from one publication, whose run id and time are printed under every figure. Writes
``<warehouse>/report/index.html`` (inline CSS, charts as inline SVG rendered offline by vl-convert:
no script, no request leaves the machine) and, when Chromium is on PATH, ``report/report.pdf``
printed from that page. Both are replaced atomically.
"""

from dagster_project.report.build import (
    NoServingDatabase,
    Report,
    YearNotCovered,
    build_report,
)

__all__ = ["NoServingDatabase", "Report", "YearNotCovered", "build_report"]
