"""Write-audit-publish: the only writer of ``<warehouse>/serving.duckdb``.

dbt builds into the working database and the audits run there; only then are the
marts and audit tables copied into a *new* file beside the served one, scanned for
personal data, checkpointed, fsynced and moved over ``serving.duckdb`` with
``os.replace``. A reader that opened the old file keeps its consistent view (the old
inode); a reader that opens the path afterwards sees the new file; nobody ever sees
half a publication, and a run killed at any point leaves the previous file in place.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project import atomic, duckrows, settings
from dagster_project.failpoints import failpoint
from dagster_project.lake import Lake
from dagster_project.pii import name_fingerprint

# The oldest storage format DuckDB 1.x readers understand: BI drivers bundle older DuckDB releases than ours.
STORAGE_VERSION = "v1.0.0"
# serving.duckdb (BI): the marts and the aggregate audit tables, no person-level row
SERVED_AUDIT_TABLES = (
    "ingest_ledger",
    "quarantine_summary",
    "unmatched_links_by_file",
    "superseded_rows_by_file",
    "out_of_district_rows_by_file",
    "delivery_status",
    "column_lineage",  # how every model column is computed (lineage.py): no data, only names
)
# data_team.duckdb (the data team): every audit model, person-level ones included (pseudonymised)
TEAM_AUDIT_TABLES = (
    *SERVED_AUDIT_TABLES,
    "quarantine_rows",
    "unmatched_links",
    "superseded_rows",
    "out_of_district_rows",
)
# 18 characters of an identity number standing on their own (not inside a longer code or a hex digest)
ID_PATTERN = r"(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)"
CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
ID_RE = re.compile(ID_PATTERN)
# columns that say which row a hit is in, when a table has them (their values are shown unless they too
# look like an identity number); the row's position in the table is always shown
ROW_KEY_COLUMNS = (
    "extract",
    "source_file",
    "source_row",
    "reporting_month",
    "year",
    "month",
    "township_code",
    "village_code",
    "hospital_code",
    "asset",
    "check_name",
)
ROWS_NAMED = 5  # at most this many rows of a column are named in the message


class PublicationBlocked(Exception):
    pass


@dataclass
class Publication:
    path: Path
    run_id: str
    tables: dict[str, int]
    parquet: list[Path]
    team_tables: dict[str, int]


def stale_temporaries(warehouse: Path) -> list[Path]:
    return sorted(warehouse.glob(".serving-*.duckdb.tmp*")) + sorted(warehouse.glob(".audit-*.duckdb.tmp*"))


def _copy_tables(
    con: duckdb.DuckDBPyConnection, catalog: str, schema: str, names, source: str = "wh"
) -> dict[str, int]:
    con.execute(f"create schema if not exists {catalog}.{schema}")
    tables = {}
    for name in names:
        con.execute(f"create table {catalog}.{schema}.{name} as select * from {source}.{schema}.{name}")
        tables[f"{schema}.{name}"] = con.execute(
            f"select count(*) from {catalog}.{schema}.{name}"
        ).fetchone()[0]
    return tables


def _write_publication(con, catalog: str, run_id: str, now: dt.datetime) -> None:
    con.execute(
        f"create table {catalog}.audit.publication (run_id varchar, published_at timestamptz, "
        "duckdb_version varchar, storage_version varchar)"
    )
    con.execute(
        f"insert into {catalog}.audit.publication values (?, ?, ?, ?)",
        [run_id, now, duckdb.__version__, STORAGE_VERSION],
    )


def publish(
    warehouse: Path,
    run_id: str,
    audit_results: list[dict],
    key: bytes,
    state: dict | None = None,
    carry_results: bool = False,
) -> Publication:
    """Write serving.duckdb (BI) and data_team.duckdb (data team) anew, scan both, then replace both.

    ``carry_results``: an incremental run audited only the marts it rebuilt; the other checks'
    latest evaluations (of the same content, by an earlier run) are carried over from the served
    file, with the run and time that evaluated them, so ``audit.audit_results`` stays complete.

    data_team.duckdb is replaced first: a run killed between the two replacements leaves the BI
    file of the previous publication with the data team's file of this one, never half a file.
    """
    working = warehouse / "warehouse.duckdb"
    target = warehouse / "serving.duckdb"
    team_target = warehouse / "data_team.duckdb"
    for stale in stale_temporaries(warehouse):  # a publication killed half-way
        stale.unlink(missing_ok=True)
    tmp = warehouse / f".serving-{run_id}.duckdb.tmp"
    team_tmp = warehouse / f".audit-{run_id}.duckdb.tmp"
    con = duckdb.connect(config=settings.current().duckdb_config(warehouse))
    try:
        con.execute(f"attach '{tmp}' as serving (storage_version '{STORAGE_VERSION}')")
        con.execute(f"attach '{team_tmp}' as team (storage_version '{STORAGE_VERSION}')")
        con.execute(f"attach '{working}' as wh (read_only)")
        available = {
            (r[0], r[1])
            for r in con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = 'wh'"
            ).fetchall()
        }
        marts = sorted(n for sch, n in available if sch == "marts")
        missing = [t for t in TEAM_AUDIT_TABLES if ("audit", t) not in available]
        if missing or not marts:
            raise PublicationBlocked(f"the working database lacks {missing or 'the marts'}")
        tables = _copy_tables(con, "serving", "marts", marts)
        tables |= _copy_tables(con, "serving", "audit", SERVED_AUDIT_TABLES)
        # the team's copies of the served audit tables are made from the served ones: the same rows, scanned once
        served_copies = [t for t in TEAM_AUDIT_TABLES if t in SERVED_AUDIT_TABLES]
        team_only = [t for t in TEAM_AUDIT_TABLES if t not in SERVED_AUDIT_TABLES]  # person-level
        team_tables = _copy_tables(con, "team", "audit", served_copies, source="serving")
        team_tables |= _copy_tables(con, "team", "audit", team_only)
        now = dt.datetime.now(dt.UTC)
        _write_publication(con, "serving", run_id, now)
        _write_publication(con, "team", run_id, now)
        con.execute("create table serving.audit.mart_row_counts (mart varchar, row_count bigint)")
        duckrows.insert_rows(
            con,
            "serving.audit.mart_row_counts",
            [[t.split(".", 1)[1], n] for t, n in tables.items() if t.startswith("marts.")],
        )
        con.execute(
            "create table serving.audit.audit_results (run_id varchar, asset varchar, check_name varchar, "
            "passed boolean, severity varchar, failed_expectations varchar[], evaluated_at timestamptz)"
        )
        if carry_results and target.exists():
            evaluated = {(r["asset"], r["check"]) for r in audit_results}
            con.execute(f"attach '{target}' as previous (read_only)")
            previous = con.execute("select * from previous.audit.audit_results").fetchall()
            con.execute("detach previous")
            carried = [r for r in previous if (r[1], r[2]) not in evaluated]
            duckrows.insert_rows(con, "serving.audit.audit_results", carried)
        duckrows.insert_rows(
            con,
            "serving.audit.audit_results",
            [
                [run_id, r["asset"], r["check"], r["passed"], r["severity"], r.get("failed", []), now]
                for r in audit_results
            ],
        )
        con.execute("detach wh")
        lake = Lake(warehouse)

        def known(candidates: set[str]) -> set[str]:
            return lake.known_name_fingerprints(con, candidates)

        found = privacy_scan(
            con,
            ("serving", "team"),
            known,
            key,
            same_as={("team", "audit", t): "serving" for t in served_copies},
        )
        person_level = [t for t in tables if t.split(".", 1)[1] in team_only]
        if person_level:
            found.append(f"person-level tables in serving.duckdb: {person_level}")
        if found:
            raise PublicationBlocked("personal data found, publication blocked: " + "; ".join(found[:10]))
        con.execute("checkpoint serving")
        con.execute("checkpoint team")
        con.execute("detach serving")
        con.execute("detach team")
    except BaseException:
        con.close()
        for t in (tmp, team_tmp):
            t.unlink(missing_ok=True)
            Path(f"{t}.wal").unlink(missing_ok=True)
        raise
    con.close()
    for t in (tmp, team_tmp):
        with t.open("rb") as f:
            os.fsync(f.fileno())
    failpoint("publish")
    os.replace(team_tmp, team_target)
    os.replace(tmp, target)
    atomic.fsync_dir(warehouse)
    from dagster_project import state as run_state

    run_state.record_publication(warehouse, run_id, now.strftime("%Y-%m-%d %H:%M:%S UTC"), state)
    exports = export_parquet(warehouse, target)
    write_docs_index(warehouse, run_id)
    return Publication(target, run_id, tables, exports, team_tables)


DOCS_INDEX = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>pfpw docs</title></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>pfpw — documentation of the published warehouse</h1>
<p>Run {run_id}, published {published_at} UTC.</p>
<ul>
<li><a href="gx/index.html">Great Expectations Data Docs</a>: the audits of every mart, run by run</li>
<li><a href="dbt/index.html">dbt docs</a>: models, columns and their definitions, lineage</li>
</ul></body></html>
"""


def write_docs_index(warehouse: Path, run_id: str) -> Path:
    docs = warehouse / "docs"
    docs.mkdir(exist_ok=True)
    page = docs / "index.html"
    atomic.write_text(
        page,
        DOCS_INDEX.format(run_id=run_id, published_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")),
    )
    return page


def export_parquet(warehouse: Path, served: Path) -> list[Path]:
    """Each mart as Parquet under <warehouse>/serving/, from the file just published (each file replaced atomically)."""
    out_dir = warehouse / "serving"
    out_dir.mkdir(exist_ok=True)
    con = duckdb.connect(str(served), read_only=True)
    written = []
    try:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        for mart in marts:
            final = out_dir / f"{mart}.parquet"
            tmp = out_dir / f".{mart}.parquet.tmp"
            con.execute(f"copy (select * from marts.{mart}) to '{tmp}' (format parquet, compression zstd)")
            os.replace(tmp, final)
            written.append(final)
    finally:
        con.close()
    atomic.fsync_dir(out_dir)
    return written


def privacy_scan(
    con: duckdb.DuckDBPyConnection,
    catalogs: str | tuple[str, ...],
    known_names: Callable[[set[str]], set[str]],
    key: bytes,
    same_as: dict[tuple[str, str, str], str] | None = None,
) -> list[str]:
    """Every text column of every table of the catalogs: identity-number patterns, and the names ingestion
    fingerprinted (asked of ``known_names`` once for all the catalogs: it reads every fingerprint file).

    ``known_names``: of the fingerprints of the runs of Chinese characters found (every 2 to 4
    characters of them), those of a name ingestion saw (``Lake.known_name_fingerprints``).
    A finding names the table, the column and the rows (their position in the table, 1-based, and
    their key columns where the table has them), never the value found.

    ``same_as``: tables (catalog, schema, table) copied from the same table of another of the catalogs scanned
    in this connection (the team file's copies of the served audit tables): not scanned twice, they are
    verified to hold the same number of rows as the table scanned (at a province, the team's copy of the
    ingest ledger's 589,081 rows took 1.3 s of every publication)."""
    found = []
    catalogs = (catalogs,) if isinstance(catalogs, str) else catalogs
    same_as = same_as or {}
    for (catalog, schema, table), scanned in same_as.items():
        copy, original = (
            con.execute(f'select count(*) from {c}."{schema}"."{table}"').fetchone()[0]
            for c in (catalog, scanned)
        )
        if scanned not in catalogs or copy != original:
            raise ValueError(f"{catalog}.{schema}.{table} is not a copy of {scanned}'s: it must be scanned")
    columns = [
        (catalog, *row)
        for catalog in catalogs
        for row in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = ? and data_type in ('VARCHAR', 'VARCHAR[]') order by 1, 2, 3",
            [catalog],
        ).fetchall()
        if (catalog, row[0], row[1]) not in same_as
    ]
    fingerprinted: dict[tuple[str, str, str, str], set[str]] = {}
    for catalog, schema, table, column, data_type in columns:
        ref = f'{catalog}."{schema}"."{table}"'
        col = f'"{column}"'
        text = f"array_to_string({col}, ' ')" if data_type == "VARCHAR[]" else col
        hits = con.execute(
            f"select count(*) from {ref} where regexp_matches({text}, '{ID_PATTERN}')"
        ).fetchone()[0]
        if hits:
            rows = _rows_named(con, ref, schema, table, column, text, hits)
            found.append(
                f"table {schema}.{table} ({catalog}), column {column}: {hits} value(s) shaped like "
                f"an identity number (not shown), at {rows}"
            )
        runs = {
            run
            for (value,) in con.execute(
                f"select distinct {text} from {ref} where regexp_matches({text}, '[\\x{{4e00}}-\\x{{9fff}}]{{2,}}')"
            ).fetchall()
            if value
            for run in CJK_RUN.findall(value)
        }
        pieces = {r[i : i + n] for r in runs for n in (2, 3, 4) for i in range(len(r) - n + 1)}
        if pieces:
            fingerprinted[(catalog, schema, table, column)] = {name_fingerprint(p, key) for p in pieces}
    known = known_names(set().union(*fingerprinted.values())) if fingerprinted else set()
    for (catalog, schema, table, column), fingerprints in fingerprinted.items():
        leaked = len(fingerprints & known)
        if leaked:
            found.append(f"{schema}.{table}.{column} ({catalog}): {leaked} known personal name(s)")
    return found


def _rows_named(
    con: duckdb.DuckDBPyConnection, ref: str, schema: str, table: str, column: str, text: str, hits: int
) -> str:
    """'row 3 (source_file=..., source_row=7), row 9 (...)': the first rows of ``ref`` whose ``text``
    holds an identity-number pattern, by position and key columns, never by the value itself."""
    catalog = ref.split(".", 1)[0]
    names = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = ? and table_schema = ? and table_name = ?",
            [catalog, schema, table],
        ).fetchall()
    }
    keys = [k for k in ROW_KEY_COLUMNS if k in names and k != column]
    key_sql = "".join(f', "{k}"::varchar' for k in keys)
    found = con.execute(
        f"select rowid + 1{key_sql} from {ref} where regexp_matches({text}, '{ID_PATTERN}') "
        f"order by rowid limit {ROWS_NAMED}"
    ).fetchall()
    named = []
    for position, *values in found:
        shown = [
            f"{k}={v}" for k, v in zip(keys, values, strict=True) if v is not None and not ID_RE.search(v)
        ]
        named.append(f"row {position}" + (f" ({', '.join(shown)})" if shown else ""))
    more = f" and {hits - len(found)} more" if hits > len(found) else ""
    return ", ".join(named) + more
