"""What a delivered .xlsx declares, checked before the xlsx reader sees it.

The reader (calamine, in Rust) sizes a sheet from the cell references it finds and allocates the
whole rectangle: a 5 KB workbook whose only cells are A1 and XFD1048576 asks for ~17 billion
cells and aborts the process, uncatchably, taking the night with it. So every workbook is first
opened here, with Python's zipfile, within bounds:

- at most ``MAX_MEMBERS`` parts, and at most ``MAX_UNZIPPED`` bytes once decompressed (counted
  as they are decompressed, never trusting the sizes the archive declares: a zip bomb stops at the
  bound);
- in every XML part, the cell, row and range references (``r="XFD1048576"``, ``<row r=…>``,
  ``ref="A1:J24"``), the count attributes (``count``, ``uniqueCount``) and the number of ``<c>``
  elements: the rectangle they span must hold at most ``max_cells`` cells.

Past a bound the file is rejected by name with the reason (``FileRejected``); the run goes on.
"""

from __future__ import annotations

import io
import re
import zipfile

MAX_MEMBERS = 1_000
MAX_UNZIPPED = 256 * 1024 * 1024
MAX_CELLS = 5_000_000  # a township's monthly workbook holds a few thousand (PFPW_MAX_WORKBOOK_CELLS)
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384

_REF = re.compile(rb'\s(?:r|ref|sqref)\s*=\s*["\']([^"\']{1,200})["\']')
_CELL = re.compile(rb"\$?([A-Za-z]{1,4})?\$?([0-9]{1,10})?")
_COUNT = re.compile(rb'\s(?:count|uniqueCount)\s*=\s*["\']\s*([0-9]{1,20})\s*["\']')
_CELL_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?c[\s>/]")


class FileRejected(Exception):
    """The whole file is unreadable as the contract describes it."""


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _extent(xml: bytes) -> tuple[int, int]:
    """The largest row and column any reference of an XML part names."""
    max_row = max_col = 0
    for value in set(_REF.findall(xml)):
        for token in re.split(rb"[\s:]+", value):
            m = _CELL.fullmatch(token)
            if not m:
                continue  # r:id="rId1" and the like are not references
            letters, digits = m.groups()
            if letters:
                max_col = max(max_col, column_number(letters.decode()))
            if digits:
                max_row = max(max_row, int(digits))
    return max_row, max_col


def check(data: bytes, max_cells: int = MAX_CELLS) -> None:
    """Raise :class:`FileRejected` unless the workbook is within the bounds above."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise FileRejected(f"not a readable .xlsx workbook (not a zip archive: {exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise FileRejected(
                f"not a workbook within bounds: {len(members):,} parts (at most {MAX_MEMBERS:,})"
            )
        budget = MAX_UNZIPPED
        for info in members:
            if info.is_dir():
                continue
            try:
                with archive.open(info) as part:
                    xml = part.read(budget + 1)
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                NotImplementedError,
                ValueError,
                OSError,
            ) as exc:
                raise FileRejected(f"not a readable .xlsx workbook (part {info.filename!r}: {exc})") from None
            except EOFError:
                raise FileRejected(
                    f"not a readable .xlsx workbook (part {info.filename!r} truncated)"
                ) from None
            budget -= len(xml)
            if budget < 0:
                raise FileRejected(
                    f"not a workbook within bounds: over {MAX_UNZIPPED:,} bytes once decompressed (a zip bomb?)"
                )
            if not info.filename.lower().endswith((".xml", ".rels", ".bin")) and b"<" not in xml[:512]:
                continue
            _check_part(info.filename, xml, max_cells)


def _check_part(name: str, xml: bytes, max_cells: int) -> None:
    rows, cols = _extent(xml)
    if rows > EXCEL_MAX_ROWS or cols > EXCEL_MAX_COLUMNS:
        raise FileRejected(
            f"{name} refers to cell {column_letters(cols) or 'A'}{rows}, outside any Excel sheet"
            f" ({EXCEL_MAX_COLUMNS:,} columns x {EXCEL_MAX_ROWS:,} rows)"
        )
    if rows * max(cols, 1) > max_cells:
        raise FileRejected(
            f"{name} spans cells up to {column_letters(cols) or 'A'}{rows} ({max(cols, 1):,} columns x {rows:,} rows):"
            f" over the bound of {max_cells:,} cells (PFPW_MAX_WORKBOOK_CELLS)"
        )
    counts = [int(c) for c in _COUNT.findall(xml)]
    if counts and max(counts) > max_cells:
        raise FileRejected(f"{name} declares {max(counts):,} entries: over the bound of {max_cells:,} cells")
    cells = len(_CELL_TAG.findall(xml))
    if cells > max_cells:
        raise FileRejected(f"{name} holds {cells:,} cells: over the bound of {max_cells:,} cells")
