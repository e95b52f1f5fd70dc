"""Everything the page shows, read from one served file in one read-only connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

# the marts the page reads (metrics.md), each at township and district grain but the village drill-down
MARTS = (
    "population_indicators",
    "population_indicators_district",
    "fee_collection",
    "fee_collection_district",
    "enforcement_outcomes",
    "enforcement_outcomes_district",
    "service_station_coverage",
    "service_station_coverage_district",
    "village_indicators",
    # the monthly supervision (月督查): the district's months, the townships' names by month, the targets
    "population_indicators_district_monthly",
    "fee_collection_district_monthly",
    "enforcement_outcomes_district_monthly",
    "population_indicators_monthly",
    "target_attainment",
    "target_scorecard",
)
# the order a mart's rows are read in: by those of these columns it has
ORDER = (
    "year",
    "month",
    "district_code",
    "area_level",
    "area_code",
    "township_code",
    "village_code",
    "indicator",
)
DELIVERY_COLUMNS = (
    "agency",
    "unit_code",
    "unit_name",
    "reporting_month",
    "due_date",
    "files_expected",
    "files_delivered",
    "files_rejected",
    "files_missing",
    "days_late",
    "status",
)


@dataclass
class Served:
    path: Path
    run_id: str
    published_at: object
    # only the marts the file holds, columnar: their rows become dicts only when asked for (``rows``); a
    # history of dicts took 190 MB of the report at 10 districts × 10 years, and grew with the years
    tables: dict[str, pa.Table] = field(default_factory=dict)
    deliveries: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    ledger_problems: list[dict] = field(default_factory=list)  # rejected and ignored files
    ledger_files: int = 0
    failed_checks: list[dict] = field(default_factory=list)
    other_audits: dict[str, int] = field(default_factory=dict)
    lineage: list[dict] = field(default_factory=list)  # audit.column_lineage (dagster_project/lineage.py)

    def upstream(self, model: str, column: str) -> list[dict]:
        """Every column ``model.column`` is computed from, walked up to the delivered extracts.

        One dict per upstream column: layer, model, column, header (the extract's, for a source)."""
        parents: dict[tuple[str, str], list[dict]] = {}
        for r in self.lineage:
            if r["upstream_kind"]:
                parents.setdefault((r["model"], r["column_name"]), []).append(r)
        layer_of = {r["model"]: r["layer"] for r in self.lineage}
        found: dict[tuple[str, str], dict] = {}
        todo = [(model, column)]
        while todo:
            for r in parents.get(todo.pop(), []):
                key = (r["upstream"], r["upstream_column"])
                if key in found:
                    continue
                source = r["upstream_kind"] == "source"
                found[key] = {
                    "layer": "source" if source else layer_of.get(r["upstream"], ""),
                    "model": r["upstream"],
                    "column": r["upstream_column"],
                    "header": r["upstream_header"],
                }
                if not source:
                    todo.append(key)
        return sorted(found.values(), key=lambda d: (d["model"], d["column"]))

    def rows(
        self, mart: str, district: str | None = None, year: int | None = None, month: int | None = None
    ) -> list[dict]:
        """The mart's rows (in the order they were read) of a district, year and month, each where given;
        none where the mart lacks the column asked by."""
        table = self.tables.get(mart)
        if table is None:
            return []
        mask = None
        for column, value in (("district_code", district), ("year", year), ("month", month)):
            if value is None:
                continue
            if column not in table.column_names:
                return []
            equal = pc.equal(table[column], value)
            mask = equal if mask is None else pc.and_(mask, equal)
        return (table if mask is None else table.filter(mask)).to_pylist()

    def one(self, mart: str, district: str, year: int) -> dict | None:
        rows = self.rows(mart, district, year)
        return rows[0] if rows else None

    def districts(self) -> list[str]:
        found = {
            code
            for m, table in self.tables.items()
            if m.endswith("_district")
            for code in pc.unique(table["district_code"]).to_pylist()
        }
        return sorted(found)

    def years(self, district: str | None = None) -> list[int]:
        found = set()
        for m, table in self.tables.items():
            if not m.endswith("_district"):
                continue
            if district is not None:
                table = table.filter(pc.equal(table["district_code"], district))  # noqa: PLW2901
            found |= set(pc.unique(table["year"]).to_pylist())
        return sorted(found)


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = ?", [schema]
    ).fetchall():
        out.setdefault(table, set()).add(column)
    return out


def load(serving: Path) -> Served:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        run_id, published_at = con.execute("select run_id, published_at from audit.publication").fetchone()
        served = Served(serving, run_id, published_at)
        marts = _tables(con, "marts")
        for mart in MARTS:
            if mart in marts:
                order = ", ".join(c for c in ORDER if c in marts[mart])
                served.tables[mart] = con.execute(
                    f"select * from marts.{mart} order by {order}"
                ).fetch_arrow_table()
        audit = _tables(con, "audit")
        if "delivery_status" in audit:
            cols = ", ".join(c for c in DELIVERY_COLUMNS if c in audit["delivery_status"])
            served.deliveries = _dicts(
                con, f"select {cols} from audit.delivery_status order by agency, unit_code, reporting_month"
            )
        if "quarantine_summary" in audit:
            served.quarantine = _dicts(
                con,
                "select extract, source_file, reporting_month, reason, rows_quarantined from audit.quarantine_summary "
                "order by rows_quarantined desc, source_file, reason",
            )
        if "ingest_ledger" in audit:
            served.ledger_problems = _dicts(
                con,
                "select status, source_file, agency, extract, reporting_month, reason, ingested_at "
                "from audit.ingest_ledger where status <> 'loaded' order by status, source_file, extract",
            )
            served.ledger_files = con.execute(
                "select count(distinct source_file) from audit.ingest_ledger"
            ).fetchone()[0]
        if "audit_results" in audit:
            served.failed_checks = _dicts(
                con,
                "select asset, check_name, severity, failed_expectations, run_id from audit.audit_results "
                "where not passed order by severity, asset, check_name",
            )
        if "column_lineage" in audit:
            served.lineage = _dicts(con, "select * from audit.column_lineage order by all")
        for table, column in (
            ("unmatched_links_by_file", "records"),
            ("out_of_district_rows_by_file", "records"),
            ("superseded_rows_by_file", "rows_superseded"),
        ):
            if table in audit and column in audit[table]:
                served.other_audits[table] = con.execute(
                    f"select coalesce(sum({column}), 0) from audit.{table}"
                ).fetchone()[0]
    finally:
        con.close()
    return served
