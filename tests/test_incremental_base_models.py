"""The base models rebuilt on an incremental night for the entities it touched equal a full rebuild, cell for cell, and
so does everything built on them.

A base model ranks every delivered row among the deliveries of its entity, across all months (dbt/macros/staging.sql).
On an incremental night it ranks again only the entities with a row in a month the night rewrote, in the lake now or
in the table before, reading the lake's rows of the rewritten months and the table's own rows of the others. Here a payment is delivered again two months later with a corrected amount (the later copy
supersedes the earlier), a hospital file is withdrawn; then the later copy is withdrawn (the earlier copy is current
again: an entity touched through the table's old rows, not the lake's). After each night every table of the staging,
intermediate and marts schemas equals a full build of the same lake, and a row of an untouched entity, marked
beforehand, is still marked: only the touched entities were ranked again.
"""

import csv
import io
import json
from itertools import islice
from pathlib import Path

import duckdb

from dagster_project import lineage
from dagster_project.lake import Lake
from tests.nightly import small_zone
from tests.test_incremental_models import dbt_run, ingest, schema_tables

BASE = "staging.base_finance__fee_payments"
SCHEMAS = ("staging", "intermediate", "marts")


def tables(warehouse: Path, skip: str) -> dict[str, list[tuple]]:
    """Every table of SCHEMAS, its rows in order (the base table of payments without the rows ``skip`` names)."""
    return schema_tables(warehouse, SCHEMAS, {BASE: f"not ({skip})"})


def column_lineage(warehouse: Path) -> list[tuple]:
    """The column lineage the night parses from the SQL dbt compiled for it (an incremental night's SQL filters
    the touched entities, which is no lineage: it must give the full build's)."""
    target = warehouse / "dbt_target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    nodes, by_model = lineage.project_lineage(manifest, target, warehouse / "warehouse.duckdb")
    return sorted(lineage.rows(nodes, by_model))


def night(zone: Path, wh: Path, run_id: str) -> dict[str, list[str]]:
    """A night's ingestion and the incremental dbt run it leads to; the months each extract rewrote."""
    ingest(zone, wh, run_id=run_id)
    changes = Lake(wh).changes(run_id)
    dbt_run(wh, "--vars", json.dumps({"pfpw_changed_months": changes}), select="fqn:*")
    return changes


def fresh_build(zone: Path, where: Path, skip: str) -> dict[str, list[tuple]]:
    """``tables`` of a full build of the landing zone into a new warehouse."""
    ingest(zone, where)
    dbt_run(where, "--full-refresh", select="fqn:*")
    return tables(where, skip)


def current_amounts(warehouse: Path, receipt: str) -> list[tuple]:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            f"select reporting_month, amount_paid::double, is_current from {BASE} where receipt_no = ? order by all",
            [receipt],
        ).fetchall()


def test_incremental_base_models_equal_a_full_rebuild(tmp_path):
    zone = small_zone(tmp_path / "sources", townships=3, targets=True)
    wh = tmp_path / "wh"
    ingest(zone, wh, run_id="night-1")
    dbt_run(wh, "--full-refresh", select="fqn:*")

    # a payment of March 2011 delivered again in May 2011, its amount corrected
    march, may = (
        zone / "finance" / "2011-03" / "fee_payments.csv",
        zone / "finance" / "2011-05" / "fee_payments.csv",
    )
    first = next(islice(csv.reader(io.StringIO(march.read_text(encoding="utf-8-sig"), newline="")), 1, 2))
    receipt, amount = first[0], float(first[3].replace(",", ""))
    again = [receipt, first[1], "2011-05-03", f"{amount + 1:.2f}", first[4]]
    data = may.read_bytes()
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(again)
    may.write_bytes(data + (b"" if data.endswith(b"\n") else b"\r\n") + out.getvalue().encode())
    withdrawn = sorted((zone / "hospital" / "2012-02").glob("*_births.csv"))[0]
    withdrawn.unlink()

    # a row of an entity no change touches, marked: an incremental night leaves it as it is
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        marked = con.sql(
            f"select receipt_no from {BASE} where reporting_month = '2012-06' limit 1"
        ).fetchone()[0]
        con.execute(f"update {BASE} set current_file = 'marked' where receipt_no = ?", [marked])
    mark = f"receipt_no = '{marked}'"

    changes = night(zone, wh, "night-2")
    assert changes["finance_fee_payments"] == ["2011-05"] and changes["hospital_births"] == ["2012-02"], (
        changes
    )
    assert current_amounts(wh, receipt) == [
        ("2011-03", amount, False),
        ("2011-05", amount + 1, True),
    ]
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql(f"select current_file from {BASE} where {mark}").fetchone()[0] == "marked"
        assert (
            con.sql(
                "select count(*) from duckdb_tables() where table_name like '%__touched' or table_name like '%__kept'"
            ).fetchone()[0]
            == 0
        )
    full, served = fresh_build(zone, tmp_path / "fresh-2", mark), tables(wh, mark)
    assert set(served) == set(full) and len(full) > 30 and len(full[BASE]) > 100
    assert [t for t in sorted(full) if served[t] != full[t]] == []
    assert column_lineage(wh) == column_lineage(tmp_path / "fresh-2")
    compiled = wh / "dbt_target" / "compiled" / "pfpw" / "models" / "staging" / "finance" / "base"
    # incremental: the touched entities' rows of the rewritten months from the lake, of the others from the table
    assert all(
        name in (compiled / "base_finance__fee_payments.sql").read_text(encoding="utf-8")
        for name in ("__touched", "__kept", "reporting_month in ('2011-05')")
    )

    # the later copy withdrawn: the earlier one is current again (its entity touched through the table's old row)
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        con.execute(f"update {BASE} set current_file = 'marked' where {mark}")
    may.write_bytes(data)
    changes = night(zone, wh, "night-3")
    assert changes["finance_fee_payments"] == ["2011-05"], changes
    assert current_amounts(wh, receipt) == [("2011-03", amount, True)]
    full, served = fresh_build(zone, tmp_path / "fresh-3", mark), tables(wh, mark)
    assert [t for t in sorted(full) if served[t] != full[t]] == []
