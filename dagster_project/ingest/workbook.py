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

# cell references (<c r="B3">), row numbers (<row r="3">), ranges (<dimension ref="A1:J24">, sqref="A1 B2:C3"),
# with a literal start so that the regex engine skips ahead (a township's workbook costs ~0.5 ms); XML also
# allows blanks around '=' (r = "A1"): a part that has any is read with the slower, tolerant patterns
_FAST = (
    re.compile(rb' r=["\']\$?([A-Za-z]{1,4})\$?([0-9]{1,10})["\']'),
    re.compile(rb' r=["\']([0-9]{1,10})["\']'),
    re.compile(rb'ref=["\']([^"\']{1,4000})["\']'),
)
_TOLERANT = (
    re.compile(rb'\sr\s*=\s*["\']\$?([A-Za-z]{1,4})\$?([0-9]{1,10})["\']'),
    re.compile(rb'\sr\s*=\s*["\']([0-9]{1,10})["\']'),
    re.compile(rb'ref\s*=\s*["\']([^"\']{1,4000})["\']'),
)
# what sends a part to the tolerant patterns: a blank beside '=', or an attribute after a tab or a line break
_UNUSUAL = (b" =", b"= ", b"\t", b"\n=", b"=\n", b"\r")
_RANGE_CELL = re.compile(rb"\$?([A-Za-z]{1,4})?\$?([0-9]{1,10})?")
_COUNT = re.compile(rb'ount\s*=\s*["\']\s*([0-9]{1,20})\s*["\']')  # count=, uniqueCount=


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
    """The largest row and column any reference of an XML part names (findall in C: a township's
    workbook costs well under a millisecond)."""
    cell_ref, row_ref, range_ref = _TOLERANT if any(p in xml for p in _UNUSUAL) or b"\nr" in xml else _FAST
    cells = cell_ref.findall(xml)
    letters = {c for c, _r in cells}
    rows = [r for _c, r in cells] + row_ref.findall(xml)
    for value in range_ref.findall(xml):
        for token in re.split(rb"[\s:]+", value):
            m = _RANGE_CELL.fullmatch(token)
            if m:
                letters.add(m[1] or b"")
                rows.append(m[2] or b"0")
    max_row = max(map(int, rows), default=0)
    max_col = max((column_number(c.decode()) for c in letters if c), default=0)
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
    # the cells of a sheet (a worksheet's sheetData; its dimension) are what the reader allocates for
    rows, cols = _extent(xml) if b"sheetData" in xml or b"dimension" in xml else (0, 0)
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
    cells = xml.count(b"<c") + xml.count(b":c")  # an upper bound of the <c> elements (namespaced too)
    if cells > max_cells:
        raise FileRejected(f"{name} holds {cells:,} cells: over the bound of {max_cells:,} cells")
