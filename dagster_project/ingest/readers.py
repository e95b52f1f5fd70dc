"""Reading delivered files into raw text frames (canonical column names, one text column each).

Every reader returns a polars DataFrame whose columns are the extract's canonical
names as text (identity numbers still raw: the caller pseudonymises them before
anything is validated or stored) plus ``source_row``, the row's number in the file
(Excel row, CSV line, JSON Lines line). A file that cannot be read as the contract
says raises ``FileRejected`` with the reason.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from python_calamine import CalamineWorkbook

from dagster_project.pii import NUMERIC_CELL
from dagster_project.schemas.contract import ExtractSpec

TOTAL_MARKERS = ("合计", "总计")


class FileRejected(Exception):
    """The whole file is unreadable as the contract describes it."""


NAMES = "__names"  # the row's personal names, only ever fingerprinted (see Ingestor), never stored


def _frame(
    spec: ExtractSpec,
    rows: list[list[str | None]],
    row_numbers: list[int],
    names: list[str | None] | None = None,
) -> pl.DataFrame:
    cols = {f.name: [r[i] for r in rows] for i, f in enumerate(spec.fields)}
    df = pl.DataFrame(cols, schema={f.name: pl.Utf8 for f in spec.fields})
    df = df.with_columns(pl.Series("source_row", row_numbers, dtype=pl.Int64))
    return df.with_columns(
        pl.Series(NAMES, names if names is not None else [None] * df.height, dtype=pl.Utf8)
    )


def _column_positions(spec: ExtractSpec, header: list[str], where: str) -> list[int]:
    header = [h.strip().lstrip("\ufeff") if isinstance(h, str) else h for h in header]
    missing = [f.source for f in spec.fields if f.source not in header]
    if missing:
        raise FileRejected(f"{where}: missing column(s) {', '.join(missing)}")
    return [header.index(f.source) for f in spec.fields]


# ---------------------------------------------------------------- xlsx


def cell_text(value: Any, identity: bool = False) -> str | None:
    """An Excel cell as contract text: dates as ISO, integral numbers without '.0'."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        if identity:
            return NUMERIC_CELL
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def find_header(rows: list[list[Any]], first_column: str) -> int:
    """Index of the header row: the first row whose first cell equals the first column's name."""
    for i, row in enumerate(rows):
        if row and isinstance(row[0], str) and row[0].strip() == first_column:
            return i
    raise ValueError(first_column)


def open_workbook(path: Path) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for broken zips and non-xlsx files
        raise FileRejected(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc


def read_sheet(wb: CalamineWorkbook, spec: ExtractSpec) -> pl.DataFrame | None:
    """The sheet named ``spec.sheet`` as a raw frame; None if the optional sheet is absent."""
    assert spec.sheet is not None
    sheet_names = [n.strip() for n in wb.sheet_names]
    if spec.sheet not in sheet_names:
        if spec.sheet_required:
            raise FileRejected(f"missing sheet {spec.sheet}")
        return None
    try:
        rows = wb.get_sheet_by_name(wb.sheet_names[sheet_names.index(spec.sheet)]).to_python(
            skip_empty_area=False
        )
    except Exception as exc:
        raise FileRejected(f"sheet {spec.sheet} cannot be read ({type(exc).__name__}: {exc})") from exc
    first = spec.fields[0].source
    try:
        h = find_header(rows, first)
    except ValueError:
        raise FileRejected(f"sheet {spec.sheet}: no header row starting with {first}") from None
    header = [cell_text(c) or "" for c in rows[h]]
    pos = _column_positions(spec, header, f"sheet {spec.sheet}")
    name_pos = [header.index(n) for n in spec.name_sources if n in header]
    identity = [f.kind == "identity" for f in spec.fields]
    data: list[list[str | None]] = []
    numbers: list[int] = []
    names: list[str | None] = []
    for i in range(h + 1, len(rows)):
        row = rows[i]
        cells = [
            cell_text(row[p], ident) if p < len(row) else None for p, ident in zip(pos, identity, strict=True)
        ]
        if all(c is None for c in cells) and all(cell_text(c) is None for c in row):
            continue  # blank row
        lead = cell_text(row[0]) if row else None
        if lead is not None and lead.replace(" ", "") in TOTAL_MARKERS:
            continue  # 合计 row
        data.append(cells)
        numbers.append(i + 1)  # Excel rows are 1-based
        names.append(next((cell_text(row[p]) for p in name_pos if p < len(row) and cell_text(row[p])), None))
    return _frame(spec, data, numbers, names)


# ---------------------------------------------------------------- CSV


def decode(raw: bytes, encoding: str) -> str:
    """Decode strictly in the contract's encoding, so a wrong encoding is an error, not mojibake."""
    if not raw.strip():
        raise FileRejected("empty file (a header row is required)")
    if encoding == "gbk":
        if raw.startswith(codecs.BOM_UTF8):
            raise FileRejected("wrong encoding: the file is UTF-8 (with BOM), the contract says GBK")
        if any(b > 0x7F for b in raw):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise FileRejected("wrong encoding: the file is UTF-8, the contract says GBK")
        try:
            return raw.decode("gbk")
        except UnicodeDecodeError as exc:
            raise FileRejected(f"not valid GBK at byte {exc.start}") from exc
    if encoding == "utf-8-sig":
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                f"wrong encoding: not valid UTF-8 at byte {exc.start} (GBK?), the contract says UTF-8 with BOM"
            ) from exc
    raise ValueError(encoding)


def read_csv(path: Path, spec: ExtractSpec, encoding: str) -> pl.DataFrame:
    text = decode(path.read_bytes(), encoding)
    try:
        df = pl.read_csv(
            text.encode("utf-8"),
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise FileRejected(f"not a readable CSV ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    pos = _column_positions(spec, df.columns, "header")
    header = df.columns
    out = df.select(
        [pl.col(header[p]).str.strip_chars().alias(f.name) for p, f in zip(pos, spec.fields, strict=True)]
    )
    out = out.with_columns(
        [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in out.columns]
    )
    name_cols = [n for n in spec.name_sources if n in header]
    names = df[name_cols[0]].str.strip_chars() if name_cols else pl.Series([None] * df.height, dtype=pl.Utf8)
    out = out.with_columns(names.alias(NAMES))
    # polars skips blank lines: number rows by their line in the file
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip()][1:]
    if len(lines) != out.height:  # quoted newlines inside a field: fall back to positional numbering
        lines = list(range(2, out.height + 2))
    return out.with_columns(pl.Series("source_row", lines, dtype=pl.Int64))


# ---------------------------------------------------------------- JSON Lines


def _json_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, Decimal | int):
        return str(v)
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def read_jsonl(path: Path, spec: ExtractSpec) -> pl.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"wrong encoding: not valid UTF-8 at byte {exc.start}") from exc
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    seen = {f.source: 0 for f in spec.fields}
    names: list[str | None] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise FileRejected(f"line {n}: broken JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(obj, dict):
            raise FileRejected(f"line {n}: not a JSON object")
        for f in spec.fields:
            seen[f.source] += f.source in obj
        rows.append([_json_text(obj.get(f.source)) for f in spec.fields])
        numbers.append(n)
        names.append(next((_json_text(obj.get(k)) for k in spec.name_sources if obj.get(k)), None))
    # a field absent from every record is a renamed or missing column: the file is unreadable;
    # absent from some records only, it is a blank value of those rows
    absent = [name for name, count in seen.items() if rows and count == 0]
    if absent:
        raise FileRejected(f"missing field(s) {', '.join(absent)} in every record")
    return _frame(spec, rows, numbers, names)
