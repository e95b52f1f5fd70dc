"""Township workbooks, written as xlsxwriter writes them, at a fraction of its cost.

:class:`Workbook` is a small writer of exactly the XML and zip layout that xlsxwriter writes for these
sheets (shared strings, the same parts, zip entries and timestamps): the committed sample, written by
xlsxwriter, is reproduced byte for byte, at a fraction of xlsxwriter's cost (a workbook object per
file, a temporary file per part).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zlib
from functools import cache

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument."
COLUMNS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
EXCEL_EPOCH = dt.date(1899, 12, 30).toordinal()
ZIP_DATE = (0 << 9) | (1 << 5) | 31  # 1980-01-31 00:00:00, as xlsxwriter stamps its parts
ZIP_ATTR = 0o100600 << 16  # a regular file of mode 600 (xlsxwriter's temporary files)
TAB_SELECTED = 'tabSelected="1" '
PRESERVE = ' xml:space="preserve"'
WHITESPACE_OR_MARKUP = re.compile(r"[\s&<>]")


def _esc(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _esc_attr(text: str) -> str:
    return _esc(text).replace('"', "&quot;")


@cache
def static_parts() -> dict[str, bytes]:
    """theme1.xml, styles.xml (a yyyy-mm-dd date format) and _rels/.rels, as xlsxwriter writes them."""
    import zipfile

    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    wb.add_worksheet("s").write_datetime(0, 0, dt.datetime(2012, 1, 1), date_fmt)
    wb.close()
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in ("_rels/.rels", "xl/styles.xml", "xl/theme/theme1.xml")}


_DEFLATED: dict[tuple[bytes, int], tuple[int, bytes]] = {}


def _deflate(data: bytes, level: int, cache_it: bool = False) -> tuple[int, bytes]:
    hit = _DEFLATED.get((data, level)) if cache_it else None
    if hit is None:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        hit = (zlib.crc32(data), c.compress(data) + c.flush())
        if cache_it:
            _DEFLATED[(data, level)] = hit
    return hit


def _zip(members: list[tuple[str, bytes, bool]], level: int = zlib.Z_DEFAULT_COMPRESSION) -> bytes:
    """A zip archive of (name, data, cacheable) as Python's zipfile writes it for xlsxwriter's files.

    xlsxwriter compresses at zlib's default level; a faster level gives other (equally valid) bytes.
    """
    out, central = [], []
    offset = 0
    for name, data, cacheable in members:
        crc, packed = _deflate(data, level, cacheable)
        fname = name.encode("ascii")
        # what a part's local header and its entry in the central directory share: no flags, deflated,
        # time and date, CRC, sizes, the name's length, no extra field
        shared = struct.pack("<4HL2L2H", 0, 8, 0, ZIP_DATE, crc, len(packed), len(data), len(fname), 0)
        header = b"PK\003\004" + struct.pack("<2B", 20, 0) + shared  # version 2.0 needed
        out += (header, fname, packed)
        # made by version 2.0 on Unix (3), 2.0 needed; then no comment, disk 0, no internal attributes
        entry = struct.pack("<4B", 20, 3, 20, 0) + shared + struct.pack("<3H2L", 0, 0, 0, ZIP_ATTR, offset)
        central.append(b"PK\001\002" + entry + fname)
        offset += len(header) + len(fname) + len(packed)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\005\006", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(out) + directory + end


class Sheet:
    """Rows of one worksheet, written in order: (row, first column, last column, the cells' XML).

    Strings go to the workbook's shared strings in the order they are written, as in xlsxwriter.
    """

    __slots__ = ("name", "rows", "sst")

    def __init__(self, name: str, sst):
        self.name = name
        self.rows: list[tuple[int, int, int, str]] = []
        self.sst = sst

    def write_row(self, row: int, values: tuple, first: int = 0) -> None:
        """Text and number cells from column ``first`` on; an empty text is a blank cell, not written."""
        cells, cols = [], []
        for col, value in enumerate(values, first):
            if isinstance(value, str):
                if value:
                    cells.append(f'<c r="{COLUMNS[col]}{row + 1}" t="s"><v>{self.sst(value)}</v></c>')
                    cols.append(col)
            else:
                cells.append(f'<c r="{COLUMNS[col]}{row + 1}"><v>{value:.16G}</v></c>')
                cols.append(col)
        self.rows.append((row, cols[0], cols[-1], "".join(cells)))

    def xml(self, selected: bool) -> bytes:
        rows = self.rows
        lo_r, hi_r = rows[0][0], rows[-1][0]
        lo_c, hi_c = min(r[1] for r in rows), max(r[2] for r in rows)
        first = f"{COLUMNS[lo_c]}{lo_r + 1}"
        ref = first if (lo_r, lo_c) == (hi_r, hi_c) else f"{first}:{COLUMNS[hi_c]}{hi_r + 1}"
        spans: dict[int, str] = {}  # xlsxwriter's row spans: the columns used in each block of 16 rows
        block, lo, hi = -1, 0, 0
        for r, a, b, _ in rows:
            if r // 16 != block:
                if block >= 0:
                    spans[block] = f"{lo + 1}:{hi + 1}"
                block, lo, hi = r // 16, a, b
            else:
                lo, hi = min(lo, a), max(hi, b)
        spans[block] = f"{lo + 1}:{hi + 1}"
        body = "".join(
            [f'<row r="{r + 1}" spans="{spans[r // 16]}">{cells}</row>' for r, _, _, cells in rows]
        )
        return (
            f'{XML_HEAD}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><dimension ref="{ref}"/>'
            f'<sheetViews><sheetView {TAB_SELECTED if selected else ""}workbookViewId="0"/></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><sheetData>{body}</sheetData><pageMargins left="0.7" '
            'right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
        ).encode()


class Workbook:
    """A workbook of text, number and date cells, written as xlsxwriter writes it (see the module)."""

    def __init__(self, created: dt.datetime, level: int = zlib.Z_DEFAULT_COMPRESSION):
        self.created = created
        self.level = level  # zlib's: the default is xlsxwriter's
        self.sheets: list[Sheet] = []
        self.strings: dict[str, int] = {}
        self.count = 0  # string cells

    def sst(self, text: str) -> int:
        self.count += 1
        index = self.strings.get(text)
        if index is None:
            index = self.strings[text] = len(self.strings)
        return index

    def _shared_strings(self) -> bytes:
        texts = list(self.strings)
        joined = "\x00".join(texts)
        if WHITESPACE_OR_MARKUP.search(joined):  # never in generated data: xlsxwriter's escapes, one by one
            items = "".join(
                f"<si><t{PRESERVE if t[:1].isspace() or t[-1:].isspace() else ''}>{_esc(t)}</t></si>"
                for t in texts
            )
        else:
            items = "<si><t>" + joined.replace("\x00", "</t></si><si><t>") + "</t></si>"
        return (
            f'{XML_HEAD}<sst xmlns="{NS_MAIN}" count="{self.count}" uniqueCount="{len(texts)}">{items}</sst>'
        ).encode()

    def add_worksheet(self, name: str) -> Sheet:
        sheet = Sheet(name, self.sst)
        self.sheets.append(sheet)
        return sheet

    def bytes(self) -> bytes:
        static = static_parts()
        n = len(self.sheets)
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT}spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        content_types = (
            f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{CT}extended-properties+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{CT}spreadsheetml.styles+xml"/>'
            f'<Override PartName="/xl/theme/theme1.xml" ContentType="{CT}theme+xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{CT}spreadsheetml.sheet.main+xml"/>'
            f"{sheet_types}"
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        )
        rel = f"{NS_REL}/"
        workbook_rels = (
            f'{XML_HEAD}<Relationships xmlns="{NS_PKG_REL}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{rel}worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1)
            )
            + f'<Relationship Id="rId{n + 1}" Type="{rel}theme" Target="theme/theme1.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{rel}styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 3}" Type="{rel}sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        )
        workbook = (
            f'{XML_HEAD}<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">'
            '<fileVersion appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/>'
            '<workbookPr defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" yWindow="15" '
            'windowWidth="16095" windowHeight="9660"/></bookViews><sheets>'
            + "".join(
                f'<sheet name="{_esc_attr(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, s in enumerate(self.sheets, 1)
            )
            + '</sheets><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        )
        stamp = f"{self.created:%Y-%m-%dT%H:%M:%SZ}"
        core = (
            f'{XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/'
            'terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-'
            'instance"><dc:creator></dc:creator><cp:lastModifiedBy></cp:lastModifiedBy><dcterms:created '
            f'xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">'
            f"{stamp}</dcterms:modified></cp:coreProperties>"
        )
        app = (
            f'{XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-'
            'properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
            '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
            f"</vt:variant><vt:variant><vt:i4>{n}</vt:i4></vt:variant></vt:vector></HeadingPairs>"
            f'<TitlesOfParts><vt:vector size="{n}" baseType="lpstr">'
            + "".join(f"<vt:lpstr>{_esc(s.name)}</vt:lpstr>" for s in self.sheets)
            + "</vt:vector></TitlesOfParts><Company></Company><LinksUpToDate>false</LinksUpToDate>"
            "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
            "<AppVersion>12.0000</AppVersion></Properties>"
        )
        members = [
            ("[Content_Types].xml", content_types.encode(), True),
            ("_rels/.rels", static["_rels/.rels"], True),
            ("xl/_rels/workbook.xml.rels", workbook_rels.encode(), True),
            *((f"xl/worksheets/sheet{i}.xml", s.xml(i == 1), False) for i, s in enumerate(self.sheets, 1)),
            ("xl/workbook.xml", workbook.encode(), True),
            ("xl/sharedStrings.xml", self._shared_strings(), False),
            ("xl/styles.xml", static["xl/styles.xml"], True),
            ("xl/theme/theme1.xml", static["xl/theme/theme1.xml"], True),
            ("docProps/core.xml", core.encode(), True),
            ("docProps/app.xml", app.encode(), True),
        ]
        return _zip(members, self.level)
