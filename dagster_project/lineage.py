"""Column lineage of the dbt models, parsed from the SQL dbt compiled for this warehouse.

For every model column: the columns of its direct parents (models or lake sources) it is computed
from, found by sqlglot's lineage over the compiled SQL, with the parents' columns read from the
working database (what dbt built, not what the yml says). dagster-dbt does the same in
``fetch_column_metadata``, through a dbt adapter opened in Dagster's process while dbt runs; DuckDB
allows one writer, and dbt holds the file for the whole build, so here it is done once dbt has
finished, on a read-only connection.

The result is used twice:
- ``dagster/column_lineage`` (and ``dagster/column_schema``) on every model's materialization;
- the table ``audit.column_lineage`` (one row per model column and direct upstream column, with the
  extract's Chinese header where the upstream is a lake source), published with the marts, which
  the report walks from every indicator down to the delivered files.

Lineage depends only on the compiled SQL and the parents' columns: it is cached per model in the
dbt target folder under a digest of both, so a night whose code did not change parses nothing; and in
a cache shared by every warehouse built with this project (``shared``), so a new warehouse parses only
the models whose SQL names its own paths (the lake sources).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from dagster_project import atomic, duckrows

log = logging.getLogger(__name__)

DIALECT = "duckdb"
CACHE_NAME = "column_lineage_cache.json"
ROWS = "*"  # the upstream "column" of a count(*): the rows of the table
# the table's columns, in order (written by ``write_table``; read by the report)
TABLE_COLUMNS = (
    "model",  # the dbt model, e.g. fee_collection
    "layer",  # staging, intermediate, marts or audit
    "column_name",
    "data_type",
    "upstream_kind",  # model, source, or '' for a column computed from no column (a constant)
    "upstream",  # the upstream model, or the source as <source>.<table> (e.g. finance.fee_decisions)
    "upstream_column",
    "upstream_header",  # for a source column: the extract's header (决定书编号); else ''
)


@dataclass(frozen=True)
class Node:
    unique_id: str
    name: str
    kind: str  # "model" or "source"
    layer: str
    relation: str  # as in the compiled SQL
    columns: dict[str, str]  # name -> data type
    headers: dict[str, str]  # source columns: name -> extract header


def _layer(props: Mapping[str, Any]) -> str:
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else ""


def _header(description: str) -> str:
    """The contract's header is the description up to its first dash: "决定书编号 — the decision number"."""
    head = (description or "").split(" — ")[0].strip()
    return head if any("\u4e00" <= ch <= "\u9fff" for ch in head) else ""


def _catalog_columns(entry: Mapping[str, Any] | None) -> dict[str, str]:
    if not entry:
        return {}
    ordered = sorted(entry["columns"].values(), key=lambda c: c.get("index", 0))
    return {c["name"].lower(): c["type"] for c in ordered}


def load_nodes(
    manifest: Mapping[str, Any],
    con: duckdb.DuckDBPyConnection | None,
    catalog: Mapping[str, Any] | None = None,
) -> dict[str, Node]:
    """Every model and source of the project, with the columns the working database gives them, or
    dbt's ``catalog.json`` where the models were built elsewhere (Spark)."""
    built: dict[tuple[str, str], dict[str, str]] = {}
    if con is not None:
        for schema, table, column, dtype in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall():
            built.setdefault((schema, table), {})[column.lower()] = dtype
    nodes: dict[str, Node] = {}
    for uid, props in manifest["nodes"].items():
        if props["resource_type"] != "model":
            continue
        if catalog is not None:
            columns = _catalog_columns(catalog.get("nodes", {}).get(uid))
        else:
            columns = built.get((props["schema"], props.get("alias") or props["name"]), {})
        nodes[uid] = Node(uid, props["name"], "model", _layer(props), props["relation_name"], columns, {})
    for uid, props in manifest["sources"].items():
        documented = {name.lower(): (c.get("data_type") or "varchar") for name, c in props["columns"].items()}
        if catalog is not None or con is None:
            columns = _catalog_columns((catalog or {}).get("sources", {}).get(uid)) or documented
        else:
            try:
                described = con.execute(f"describe select * from {props['relation_name']}").fetchall()
                columns = {row[0].lower(): row[1] for row in described}
            except duckdb.Error:  # a source with no file yet: its documented columns
                columns = documented
        headers = {name.lower(): _header(c.get("description", "")) for name, c in props["columns"].items()}
        nodes[uid] = Node(
            uid,
            f"{props['source_name']}.{props['name']}",
            "source",
            "source",
            props["relation_name"],
            columns,
            headers,
        )
    return nodes


def _compiled_sql(target_path: Path, props: Mapping[str, Any]) -> str | None:
    path = target_path / "compiled" / props["package_name"] / props["original_file_path"]
    return path.read_text(encoding="utf-8") if path.exists() else None


def model_lineage(
    sql: str, node: Node, parents: list[Node], dialect: str = DIALECT
) -> dict[str, list[tuple[str, str]]]:
    """{column: [(parent unique id, parent column)]} of one model, from its compiled SQL."""
    from sqlglot import exp, parse_one
    from sqlglot.lineage import lineage
    from sqlglot.optimizer import optimize
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
    from sqlglot.schema import MappingSchema

    by_table: dict[str, str] = {}
    schema = MappingSchema(dialect=dialect)
    for parent in parents:
        relation = parent.relation
        if parent.kind == "source" and relation.startswith("read_parquet("):  # no table to sqlglot: name it
            alias = _source_alias_of(parent)
            sql = sql.replace(relation, alias)
            relation = alias
        table = exp.to_table(relation, dialect=dialect)
        schema.add_table(table, dict(parent.columns) or {"_": "varchar"}, dialect=dialect)
        by_table[_table_key(table)] = parent.unique_id
    optimized = optimize(parse_one(sql, dialect=dialect), schema=schema, dialect=dialect)
    text = optimized.sql(dialect=dialect)
    selects = {name.lower(): name for name in optimized.named_selects}
    result: dict[str, list[tuple[str, str]]] = {}
    for column in node.columns:
        if column not in selects:
            result[column] = []
            continue
        deps: set[tuple[str, str]] = set()
        for step in lineage(selects[column], text, schema=schema, dialect=dialect).walk():
            if step.downstream:
                continue
            table = step.expression.find(exp.Table)
            if table is None:
                # count(*): a count of the rows of the tables it reads, recorded as the column "*"
                if _counts_rows(step.expression):
                    deps |= {
                        (parent, ROWS) for parent in _tables_read(step.source, by_table, dialect=dialect)
                    }
                deps |= _window_columns(step.expression, step.source, by_table, dialect)
                continue
            parent = by_table.get(_table_key(normalize_identifiers(table.copy(), dialect=dialect)))
            if parent is not None:
                deps.add((parent, exp.to_column(step.name).name.lower()))
        result[column] = sorted(deps)
    # the model's rows come from the rows of the tables its outermost query reads (a union: each side)
    selects = [optimized]
    while any(isinstance(q, exp.SetOperation) for q in selects):
        selects = [
            side for q in selects for side in ((q.left, q.right) if isinstance(q, exp.SetOperation) else (q,))
        ]
    result[ROWS] = sorted(
        {(parent, ROWS) for q in selects for parent in _tables_read(q, by_table, optimized, dialect)}
    )
    return result


def _counts_rows(expression) -> bool:  # noqa: ANN001 (a sqlglot expression)
    from sqlglot import exp

    return any(isinstance(count.this, exp.Star) for count in expression.find_all(exp.Count))


def _window_columns(
    expression, source, by_table: Mapping[str, str], dialect: str = DIALECT
) -> set[tuple[str, str]]:  # noqa: ANN001, E501
    """row_number() over (partition by a order by b): the partition and order columns of parent tables."""
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    found: set[tuple[str, str]] = set()
    windows = list(expression.find_all(exp.Window))
    if not windows:
        return found
    aliases = {}
    for table in source.find_all(exp.Table):
        parent = by_table.get(_table_key(normalize_identifiers(table.copy(), dialect=dialect)))
        if parent is not None:
            aliases[table.alias_or_name] = parent
    named = {w.this.name: w for w in (source.args.get("windows") or []) if isinstance(w.this, exp.Identifier)}
    for window in windows:
        reference = window.args.get("alias")
        if isinstance(reference, exp.Identifier) and reference.name in named:  # over <named window>
            window = named[reference.name]  # noqa: PLW2901
        for column in window.find_all(exp.Column):
            parent = aliases.get(column.table) or (
                next(iter(aliases.values())) if len(aliases) == 1 else None
            )
            if parent is not None:
                found.add((parent, column.name.lower()))
    return found


def _tables_read(source, by_table: Mapping[str, str], query=None, dialect: str = DIALECT) -> set[str]:  # noqa: ANN001, E501
    """The parents a select reads rows from (its FROM and joins, through CTEs and subqueries).
    ``query``: the whole statement, whose WITH clause names the CTEs (default: ``source``)."""
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    found: set[str] = set()
    select = source if isinstance(source, exp.Select) else source.find(exp.Select)
    if select is None:
        return found
    whole = query if query is not None else source
    ctes = {cte.alias_or_name: cte.this for cte in (whole.find(exp.With) or exp.With()).expressions}
    seen: set[str] = set()

    def visit(node) -> None:  # noqa: ANN001
        if isinstance(node, exp.SetOperation):  # a union in a CTE: both sides
            visit(node.left)
            visit(node.right)
            return
        sources = [node.args.get("from_") or node.args.get("from")] + list(node.args.get("joins") or [])
        for item in filter(None, sources):
            for table in item.find_all(exp.Table):
                name = table.name
                if not table.db and name in ctes:
                    if name not in seen:
                        seen.add(name)
                        visit(ctes[name])
                    continue
                parent = by_table.get(_table_key(normalize_identifiers(table.copy(), dialect=dialect)))
                if parent is not None:
                    found.add(parent)

    visit(select)
    return found


def _source_alias_of(node: Node) -> str:
    source, table = node.name.split(".", 1)
    return f'"pfpw_source"."{source}"."{table}"'


def _table_key(table) -> str:  # noqa: ANN001 (a sqlglot Table)
    return ".".join(part.lower() for part in (table.catalog, table.db, table.name) if part)


def _digest(sql: str, node: Node, parents: list[Node]) -> str:
    h = hashlib.sha256(sql.encode())
    h.update(json.dumps([node.columns, [(p.unique_id, p.relation, p.columns) for p in parents]]).encode())
    return h.hexdigest()


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def project_lineage(
    manifest: Mapping[str, Any],
    target_path: Path,
    database: Path,
    catalog: Mapping[str, Any] | None = None,
    shared: Path | None = None,
) -> tuple[dict[str, Node], dict[str, dict[str, list[tuple[str, str]]]]]:
    """Every model's column lineage, from the compiled SQL in ``target_path`` and the columns of
    ``database`` (or of ``catalog``: dbt's catalog.json, for a build on Spark).

    ``shared``: a cache file beside the project, read after the warehouse's own and merged into
    (by digest: a concurrent writer's entries may be lost, never wrong)."""
    dialect = manifest.get("metadata", {}).get("adapter_type") or DIALECT
    cache_path = target_path / CACHE_NAME
    cache = _read_cache(cache_path)
    shared_cache = _read_cache(shared)
    if catalog is not None:
        nodes = load_nodes(manifest, None, catalog)
    else:
        con = duckdb.connect(str(database), read_only=True)
        try:
            nodes = load_nodes(manifest, con)
        finally:
            con.close()
    lineage_by_model: dict[str, dict[str, list[tuple[str, str]]]] = {}
    fresh_cache: dict[str, Any] = {}
    for uid, node in nodes.items():
        if node.kind != "model":
            continue
        props = manifest["nodes"][uid]
        sql = _compiled_sql(target_path, props)
        if sql is None or not node.columns:
            continue  # not compiled or not built by this warehouse's dbt yet
        parents = [nodes[p] for p in props["depends_on"]["nodes"] if p in nodes]
        digest = _digest(dialect + sql, node, parents)
        hit = next((c[uid] for c in (cache, shared_cache) if c.get(uid, {}).get("digest") == digest), None)
        if hit:
            deps = {c: [tuple(d) for d in ds] for c, ds in hit["lineage"].items()}
        else:
            try:
                deps = model_lineage(sql, node, parents, dialect)
            except Exception as error:  # noqa: BLE001 (lineage is documentation: never fail the build for it)
                log.warning("column lineage of %s could not be parsed: %s", node.name, error)
                continue
        lineage_by_model[uid] = deps
        fresh_cache[uid] = {"digest": digest, "lineage": deps}
    atomic.write_json(cache_path, fresh_cache, ensure_ascii=False, sort_keys=True)
    if shared is not None and any(
        shared_cache.get(u, {}).get("digest") != e["digest"] for u, e in fresh_cache.items()
    ):
        # a read-only project folder: the warehouse's own cache still serves its nights
        try:
            atomic.write_json(
                shared, {**_read_cache(shared), **fresh_cache}, ensure_ascii=False, sort_keys=True
            )
        except OSError as error:
            log.warning("shared column lineage cache not written: %s", error)
    return nodes, lineage_by_model


def rows(nodes: Mapping[str, Node], lineage_by_model: Mapping[str, Mapping[str, Iterable[tuple[str, str]]]]):
    """The table's rows, sorted: one per model column and direct upstream column."""
    out = []
    for uid, deps in lineage_by_model.items():
        node = nodes[uid]
        for column, dtype in [*node.columns.items(), (ROWS, "")]:
            upstream = list(deps.get(column, []))
            if column == ROWS and not upstream:
                continue
            if not upstream:
                out.append((node.name, node.layer, column, dtype, "", "", "", ""))
            for parent_uid, parent_column in upstream:
                parent = nodes[parent_uid]
                header = parent.headers.get(parent_column, "") if parent.kind == "source" else ""
                out.append(
                    (node.name, node.layer, column, dtype, parent.kind, parent.name, parent_column, header)
                )
    return sorted(out)


def write_table(database: Path, table_rows: list[tuple]) -> None:
    """``audit.column_lineage`` in the working database, replaced whole."""
    con = duckdb.connect(str(database))
    try:
        con.execute("create schema if not exists audit")
        con.execute(
            "create or replace table audit.column_lineage ("
            + ", ".join(f"{c} varchar" for c in TABLE_COLUMNS)
            + ")"
        )
        duckrows.insert_rows(con, "audit.column_lineage", table_rows)
    finally:
        con.close()
