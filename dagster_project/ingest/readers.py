"""Reading delivered files into raw text rows (canonical column names, one text column each).

Every reader returns the extract's canonical columns as text (identity numbers still raw: the
caller pseudonymises them before anything is validated or stored), ``source_row``, the row's
number in the file (Excel row, CSV line, JSON Lines line), and the row's personal name (``NAMES``,
only ever fingerprinted). Workbooks and JSON Lines give plain Python columns (:class:`RawRows`), CSV
a polars frame straight from its reader; :class:`RawBatch` makes one frame of many files, so that
the per-frame cost of polars is paid per batch, not per file. A file that cannot be read as the
contract says raises ``FileRejected`` with the reason.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from python_calamine import CalamineWorkbook

from dagster_project.ingest import workbook
from dagster_project.ingest.workbook import FileRejected
from dagster_project.pii import NUMERIC_CELL
from dagster_project.schemas.contract import ExtractSpec

TOTAL_MARKERS = ("合计", "总计")


NAMES = "__names"  # the row's personal names, only ever fingerprinted (see Ingestor), never stored


@dataclass
class RawRows:
    """One sheet's or file's rows as Python columns of text (workbooks, JSON Lines)."""

    columns: dict[str, list[str | None]]
    source_rows: list[int]
    names: list[str | None]

    @property
    def height(self) -> int:
        return len(self.source_rows)


# the columns every raw row carries from its file (see validate.FILE_COLUMNS)
FILE_COLUMNS = ("source_file", "file_month", "file_township", "file_hospital")


@dataclass
class RawBatch:
    """The raw rows of one extract from many files, in file order, made into one frame at the end."""

    fields: list[str]
    columns: dict[str, list[str | None]] = field(default_factory=dict)
    source_rows: list[int] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)
    files: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def add(self, raw: RawRows | pl.DataFrame, file_values: tuple[str, str, str | None, str | None]) -> None:
        if isinstance(raw, pl.DataFrame):
            if self.source_rows:
                raise ValueError("a batch holds rows of one reader kind")
            self.frames.append(raw)
        else:
            if self.frames:
                raise ValueError("a batch holds rows of one reader kind")
            for name in self.fields:
                self.columns.setdefault(name, []).extend(raw.columns[name])
            self.source_rows.extend(raw.source_rows)
            self.names.extend(raw.names)
        self.files.append(file_values)
        self.counts.append(raw.height)

    def frame(self) -> pl.DataFrame:
        """Canonical text columns, ``source_row``, ``NAMES`` and the file columns, row by row in order.

        CSV values are stripped and blanks made NULL here, once per batch, as the workbook and
        JSON Lines readers do per cell."""
        text = dict.fromkeys([*self.fields, NAMES], pl.Utf8)
        if self.frames:
            body = pl.concat(self.frames, how="vertical").with_columns(
                pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars()).alias(c)
                for c in text
            )
        else:
            body = pl.DataFrame(
                {
                    **{n: self.columns.get(n, []) for n in self.fields},
                    "source_row": self.source_rows,
                    NAMES: self.names,
                },
                schema={**{n: pl.Utf8 for n in self.fields}, "source_row": pl.Int64, NAMES: pl.Utf8},
            )
        files = pl.DataFrame(self.files, schema=dict.fromkeys(FILE_COLUMNS, pl.Utf8), orient="row")
        index = np.repeat(np.arange(len(self.files), dtype=np.int64), self.counts)
        body = body.select([*self.fields, "source_row", NAMES])
        return pl.concat([body, files[index]], how="horizontal")


def _column_positions(spec: ExtractSpec, header: list[str], where: str) -> list[int]:
    header = [h.strip().lstrip("\ufeff") if isinstance(h, str) else h for h in header]
    missing = [f.source for f in spec.fields if f.source not in header]
    if missing:
        raise FileRejected(f"{where}: missing column(s) {', '.join(missing)}")
    return [header.index(f.source) for f in spec.fields]


# ---------------------------------------------------------------- xlsx


def cell_text(value: Any, identity: bool = False) -> str | None:
    """An Excel cell as contract text: dates as ISO, integral numbers without '.0'."""
    if type(value) is str:  # most cells: the fast path
        return value.strip() or None
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


def open_workbook(data: bytes, max_cells: int = workbook.MAX_CELLS) -> CalamineWorkbook:
    """A workbook from its bytes, once :func:`workbook.check` has found it within bounds: the xlsx
    reader (calamine) aborts the whole process, uncatchably, on a sheet that declares an absurd size."""
    workbook.check(data, max_cells=max_cells)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for broken zips and non-xlsx files
        raise FileRejected(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc


def read_sheet(wb: CalamineWorkbook, spec: ExtractSpec) -> RawRows | None:
    """The sheet named ``spec.sheet`` as raw rows; None if the optional sheet is absent."""
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
    columns: list[list[str | None]] = [[] for _ in spec.fields]
    numbers: list[int] = []
    names: list[str | None] = []
    for i in range(h + 1, len(rows)):
        row = rows[i]
        width = len(row)
        cells = [
            cell_text(row[p], ident) if p < width else None for p, ident in zip(pos, identity, strict=True)
        ]
        if all(c is None for c in cells) and all(cell_text(c) is None for c in row):
            continue  # blank row
        lead = cell_text(row[0]) if row else None
        if lead is not None and lead.replace(" ", "") in TOTAL_MARKERS:
            continue  # 合计 row
        for column, cell in zip(columns, cells, strict=True):
            column.append(cell)
        numbers.append(i + 1)  # Excel rows are 1-based
        names.append(next((t for p in name_pos if p < width and (t := cell_text(row[p]))), None))
    return RawRows({f.name: c for f, c in zip(spec.fields, columns, strict=True)}, numbers, names)


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


def read_csv(data: bytes, spec: ExtractSpec, encoding: str) -> pl.DataFrame:
    text = decode(data, encoding)
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
    name_cols = [n for n in spec.name_sources if n in header]
    # polars skips blank lines: number rows by their line in the file
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip()][1:]
    if len(lines) != df.height:  # quoted newlines inside a field: fall back to positional numbering
        lines = list(range(2, df.height + 2))
    # values as read (RawBatch.frame strips them and makes blanks NULL, once per batch)
    return pl.DataFrame(
        [
            *(df.get_column(header[p]).alias(f.name) for p, f in zip(pos, spec.fields, strict=True)),
            pl.Series("source_row", lines, dtype=pl.Int64),
            df.get_column(name_cols[0]).alias(NAMES)
            if name_cols
            else pl.Series(NAMES, [None] * df.height, dtype=pl.Utf8),
        ]
    )


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


def read_jsonl(raw: bytes, spec: ExtractSpec) -> RawRows:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"wrong encoding: not valid UTF-8 at byte {exc.start}") from exc
    columns: list[list[str | None]] = [[] for _ in spec.fields]
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
        except RecursionError:
            raise FileRejected(f"line {n}: JSON nested too deeply to be a record") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise FileRejected(
                f"line {n}: unreadable JSON value ({str(exc).splitlines()[0][:120]})"
            ) from None
        if not isinstance(obj, dict):
            raise FileRejected(f"line {n}: not a JSON object")
        for f in spec.fields:
            seen[f.source] += f.source in obj
        for column, f in zip(columns, spec.fields, strict=True):
            column.append(_json_text(obj.get(f.source)))
        numbers.append(n)
        names.append(next((_json_text(obj.get(k)) for k in spec.name_sources if obj.get(k)), None))
    # a field absent from every record is a renamed or missing column: the file is unreadable;
    # absent from some records only, it is a blank value of those rows
    absent = [name for name, count in seen.items() if numbers and count == 0]
    if absent:
        raise FileRejected(f"missing field(s) {', '.join(absent)} in every record")
    return RawRows({f.name: c for f, c in zip(spec.fields, columns, strict=True)}, numbers, names)
