"""Writing planned districts as a landing zone, in exactly the contract's formats.

Each district is planned and written on its own (its township workbooks and hospital files by the
district's own process when there are several, ``concurrent.futures``), from ``(seed, index)`` alone, so
the files never depend on the number of processes. Court and finance files hold every district: the
districts' rows come back serialised and are merged in a fixed order.

Township workbooks are written by :class:`Workbook`, a small writer of exactly the XML and zip
layout that xlsxwriter writes for these sheets (shared strings, the same parts, zip entries and
timestamps): the committed sample, written by xlsxwriter, is reproduced byte for byte, at a
fraction of xlsxwriter's cost (a workbook object per file, a temporary file per part).
"""

from __future__ import annotations

import concurrent.futures
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import random
import re
import struct
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from dagster_project.synth.generator import DISTRICT_CODES, District, Planner, month_of
from dagster_project.synth.profile import GOLDEN, Profile, varied

HOSPITAL_BIRTH_HEADER = (
    "出生医学证明编号",
    "医院代码",
    "母亲身份证号",
    "母亲现住村居代码",
    "出生日期",
    "性别",
    "出生体重",
    "孕周",
    "出生缺陷",
)
PREPREGNANCY_HEADER = ("检查编号", "女方姓名", "女方身份证号", "村居代码", "检查日期", "风险评估")
DECISION_HEADER = (
    "决定书编号",
    "当事人姓名",
    "当事人身份证号",
    "乡镇代码",
    "出生登记编号",
    "决定日期",
    "应征金额",
    "法定标准金额",
)
PAYMENT_HEADER = ("缴款单号", "决定书编号", "缴款日期", "缴款金额", "缴款方式")
BIRTH_HEADER = (
    "登记编号",
    "村居代码",
    "母亲姓名",
    "母亲身份证号",
    "母亲户籍",
    "出生日期",
    "性别",
    "孩次",
    "政策属性",
    "登记日期",
)
POPULATION_HEADER = ("村居代码", "村居名称", "月末户籍人口", "本月死亡", "育龄妇女")
CLASS_HEADER = ("村居代码", "村居名称", "年度", "分类")


def _csv_text(header: tuple[str, ...], rows: list[tuple]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    """``path.write_bytes(data)`` with fewer system calls (thousands of files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def yuan(x: Decimal, rng: random.Random) -> str:
    """Two decimals, sometimes with thousands separators (finance writes both)."""
    return f"{x:,.2f}" if x >= 1000 and rng.random() < 0.5 else f"{x:.2f}"


# ---------------------------------------------------------------------------- xlsx

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
def _static_parts() -> dict[str, bytes]:
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
        header = struct.pack(
            "<4s2B4HL2L2H",
            b"PK\003\004",
            20,
            0,
            0,
            8,
            0,
            ZIP_DATE,
            crc,
            len(packed),
            len(data),
            len(fname),
            0,
        )
        out += (header, fname, packed)
        central.append(
            struct.pack(
                "<4s4B4HL2L5H2L",
                b"PK\001\002",
                20,
                3,
                20,
                0,
                0,
                8,
                0,
                ZIP_DATE,
                crc,
                len(packed),
                len(data),
                len(fname),
                0,
                0,
                0,
                0,
                ZIP_ATTR,
                offset,
            )
            + fname
        )
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
        static = _static_parts()
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


# ---------------------------------------------------------------------------- files


def write_reference(out: Path, districts: list[District]) -> None:
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    tables = {
        "townships.csv": (
            ("township_code", "township_name", "township_type"),
            [t for d in districts for t in d.townships],
        ),
        "villages.csv": (
            ("village_code", "village_name", "township_code", "village_type"),
            [(v.code, v.name, v.township, v.vtype) for d in districts for v in d.villages],
        ),
        "hospitals.csv": (
            ("hospital_code", "hospital_name", "township_code"),
            [h for d in districts for h in d.hospitals],
        ),
        "service_stations.csv": (
            (
                "station_code",
                "station_name",
                "township_code",
                "level",
                "standardized",
                "sanyou_center",
                "opened_on",
                "closed_on",
            ),
            [tuple(s.values()) for d in districts for s in d.stations],
        ),
    }
    for name, (header, rows) in tables.items():
        (ref / name).write_text(_csv_text(header, rows), encoding="utf-8", newline="")


def write_township_workbooks(
    out: Path, d: District, months: list[str], rng: random.Random, level: int = zlib.Z_DEFAULT_COMPRESSION
) -> int:
    """One workbook per township and month (zip compression ``level``); returns the data rows written."""
    tname = {code: name for code, name, _ in d.townships}
    vname = {v.code: v.name for v in d.villages}
    regs = defaultdict(list)
    for r in d.registrations:
        regs[(r.village[:9], month_of(r.registered))].append(r)
    classes = defaultdict(list)
    for c in d.village_classes:
        classes[(c["village_code"][:9], c["month"])].append(c)
    villages_of = defaultdict(list)
    for v in d.villages:
        villages_of[v.township].append(v)
    rows_written = 0
    random_ = rng.random
    for mi, month in enumerate(months):
        y, m = (int(x) for x in month.split("-"))
        folder = out / "township" / month
        folder.mkdir(parents=True, exist_ok=True)
        for tcode, _, _ in d.townships:
            wb = Workbook(dt.datetime(y, m, 28, 9, 0, 0), level)  # byte-identical output per seed
            sheets = ["出生登记", "人口变动"] + (["村居分类"] if classes.get((tcode, month)) else [])
            if random_() < 0.15:
                sheets.append("填表说明")
            rng.shuffle(sheets)
            for sheet in sheets:
                ws = wb.add_worksheet(sheet)
                if sheet == "填表说明":
                    ws.write_row(0, ("本表由乡镇计生办于次月5日前报送。",))
                    continue
                ws.write_row(0, (f"{tname[tcode]}{y}年{m}月{sheet}表",))
                row = 2  # a blank row under the title
                if sheet == "出生登记":
                    ws.write_row(row, BIRTH_HEADER)
                    items = sorted(regs.get((tcode, month), []), key=lambda r: r.rid)
                    # a string's index: strings.setdefault(text, len(strings)) is sst() without its
                    # count, which is added per row (the inner loop of the generator)
                    strings = wb.strings
                    sd = strings.setdefault
                    add = ws.rows.append
                    for r in items:
                        row += 1
                        n = row + 1
                        # strings are numbered in the order of writing: columns A-E, F, J, then G and I
                        a = sd(r.rid, len(strings))
                        b = sd(r.village, len(strings))
                        c = sd(r.mother_name, len(strings))
                        d_ = sd(r.mother_id, len(strings))
                        e = sd(r.hukou, len(strings))
                        wb.count += 7
                        head = (
                            f'<c r="A{n}" t="s"><v>{a}</v></c><c r="B{n}" t="s"><v>{b}</v></c>'
                            f'<c r="C{n}" t="s"><v>{c}</v></c>'
                            f'<c r="D{n}" t="s"><v>{d_}</v></c>'  # identity numbers are text cells
                            f'<c r="E{n}" t="s"><v>{e}</v></c>'
                        )
                        dates = []
                        for col, value in (("F", r.birth), ("J", r.registered)):
                            form = random_()
                            if form < 0.4:
                                dates.append(
                                    f'<c r="{col}{n}" s="1"><v>{value.toordinal() - EXCEL_EPOCH}</v></c>'
                                )
                                continue
                            if form < 0.6:
                                text = value.isoformat()
                            elif form < 0.8:
                                text = f"{value.year}/{value.month}/{value.day}"
                            else:
                                text = f"{value.year}年{value.month}月{value.day}日"
                            dates.append(f'<c r="{col}{n}" t="s"><v>{sd(text, len(strings))}</v></c>')
                            wb.count += 1
                        g = sd(r.sex, len(strings))
                        i = sd(r.policy, len(strings))
                        add(
                            (
                                row,
                                0,
                                9,
                                f'{head}{dates[0]}<c r="G{n}" t="s"><v>{g}</v></c><c r="H{n}"><v>{r.order}</v></c>'
                                f'<c r="I{n}" t="s"><v>{i}</v></c>{dates[1]}',
                            )
                        )
                    ws.write_row(row + 1, ("合计", f"{len(items)}人"))
                    rows_written += len(items)
                elif sheet == "人口变动":
                    ws.write_row(row, POPULATION_HEADER)
                    vs = villages_of[tcode]
                    strings = wb.strings
                    sd = strings.setdefault
                    wb.count += 2 * len(vs)
                    add = ws.rows.append
                    for v in vs:
                        row += 1
                        n = row + 1
                        a = sd(v.code, len(strings))
                        b = sd(v.name, len(strings))
                        add(
                            (
                                row,
                                0,
                                4,
                                f'<c r="A{n}" t="s"><v>{a}</v></c><c r="B{n}" t="s"><v>{b}</v></c>'
                                f'<c r="C{n}"><v>{v.pop[mi + 1]}</v></c><c r="D{n}"><v>{v.deaths[mi]}</v></c>'
                                f'<c r="E{n}"><v>{v.women[mi + 1]}</v></c>',
                            )
                        )
                    row += 1
                    ws.write_row(
                        row,
                        (
                            "合计",
                            "",
                            sum(v.pop[mi + 1] for v in vs),
                            sum(v.deaths[mi] for v in vs),
                            sum(v.women[mi + 1] for v in vs),
                        ),
                    )
                    rows_written += len(vs)
                else:
                    ws.write_row(row, CLASS_HEADER)
                    for c in classes[(tcode, month)]:
                        row += 1
                        ws.write_row(
                            row, (c["village_code"], vname[c["village_code"]], c["year"], c["class"])
                        )
                        rows_written += 1
            _write(folder / f"{tcode}.xlsx", wb.bytes())
    return rows_written


def write_hospital(out: Path, d: District, months: list[str], names: dict) -> int:
    """Births and pre-pregnancy checks per hospital and month (GBK); returns the data rows written."""
    births = defaultdict(list)
    for h in d.hospital_births:
        births[(h.hospital, month_of(h.birth))].append(h)
    checks = defaultdict(list)
    for c in d.checks:
        checks[(c["hospital"], month_of(c["checked_on"]))].append(c)
    rows_written = 0
    for month in months:
        folder = out / "hospital" / month
        folder.mkdir(parents=True, exist_ok=True)
        for code, _, _ in d.hospitals:
            rows = [
                (
                    h.cert,
                    h.hospital,
                    h.mother_id,
                    h.village,
                    h.birth.isoformat(),
                    h.sex,
                    h.weight,
                    h.weeks,
                    "有" if h.defect else "无",
                )
                for h in sorted(births.get((code, month), []), key=lambda h: (h.birth, h.cert))
            ]
            _write(folder / f"{code}_births.csv", _csv_text(HOSPITAL_BIRTH_HEADER, rows).encode("gbk"))
            rows_written += len(rows)
            rows = [
                (
                    c["check_id"],
                    names[c["woman_id"]],
                    c["woman_id"],
                    c["village"],
                    c["checked_on"].isoformat(),
                    c["risk"],
                )
                for c in sorted(checks.get((code, month), []), key=lambda c: (c["checked_on"], c["check_id"]))
            ]
            _write(folder / f"{code}_prepregnancy.csv", _csv_text(PREPREGNANCY_HEADER, rows).encode("gbk"))
            rows_written += len(rows)
    return rows_written


def _json_amount(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def _enforcement_line(r: dict, names: dict) -> str:
    return json.dumps(
        {
            "case_no": r["case_no"],
            "applied_on": r["applied_on"].isoformat(),
            "decision_no": r["decision_no"],
            "respondent_id_number": r["respondent_id"],
            "respondent_name": names[r["respondent_id"]],
            "township_code": r["township_code"],
            "amount_applied": _json_amount(r["amount_applied"]),
            "status": r["status"],
            "measures": [
                {
                    "type": m["type"],
                    "on": m["on"].isoformat(),
                    "amount": _json_amount(m["amount"]),
                    "days": m["days"],
                }
                for m in r["measures"]
            ],
            "updated_at": r["updated_at"],
        },
        ensure_ascii=False,
    )


def _liangfei_line(r: dict) -> str:
    return json.dumps(
        {
            "case_no": r["case_no"],
            "opened_on": r["opened_on"].isoformat(),
            "township_code": r["township_code"],
            "kind": r["kind"],
            "den_destroyed": r["den_destroyed"],
            "admin_fine": _json_amount(r["admin_fine"]),
            "rebirth_permits_cancelled": r["rebirth_permits_cancelled"],
            "criminal_detentions": r["criminal_detentions"],
            "sentenced": r["sentenced"],
            "status": r["status"],
            "updated_at": r["updated_at"],
        },
        ensure_ascii=False,
    )


def court_and_finance_rows(d: District, months: list[str], rng: random.Random, names: dict) -> dict:
    """The district's court lines and finance rows by month, each with its sort key, in file order.

    Files of several districts merge these lists with a stable sort on the key, in district order,
    which is the order one sort of all districts' rows gives.
    """
    enf, lf, dec, pay = (defaultdict(list) for _ in range(4))
    for r in d.enforcement_records:
        enf[r["delivered"]].append(r)
    for r in d.liangfei_records:
        lf[r["delivered"]].append(r)
    for r in d.decisions:
        dec[r["delivered"]].append(r)
    for r in d.payments:
        pay[r["delivered"]].append(r)
    result: dict[str, dict[str, list]] = {"enforcement": {}, "liangfei": {}, "decisions": {}, "payments": {}}
    for month in months:
        result["enforcement"][month] = [
            ((r["updated_at"][:10], r["case_no"]), _enforcement_line(r, names))
            for r in sorted(enf[month], key=lambda r: (r["updated_at"][:10], r["case_no"]))
        ]
        result["liangfei"][month] = [
            ((r["updated_at"][:10], r["case_no"]), _liangfei_line(r))
            for r in sorted(lf[month], key=lambda r: (r["updated_at"][:10], r["case_no"]))
        ]
        result["decisions"][month] = [
            (
                (r["decided_on"], r["decision_no"]),
                (
                    r["decision_no"],
                    names[r["respondent_id"]],
                    r["respondent_id"],
                    r["township_code"],
                    r["registration_id"],
                    r["decided_on"].isoformat(),
                    yuan(r["assessed"], rng),
                    yuan(r["statutory"], rng),
                ),
            )
            for r in sorted(dec[month], key=lambda r: (r["decided_on"], r["decision_no"]))
        ]
        result["payments"][month] = [
            (
                (r["paid_on"], r["receipt_no"]),
                (
                    r["receipt_no"],
                    r["decision_no"],
                    r["paid_on"].isoformat(),
                    yuan(r["amount"], rng),
                    r["channel"],
                ),
            )
            for r in sorted(pay[month], key=lambda r: (r["paid_on"], r["receipt_no"]))
        ]
    return result


def write_court_and_finance(out: Path, parts: list[dict], months: list[str]) -> int:
    """The court and finance files of every month from the districts' rows; returns the data rows."""

    def merged(kind: str, month: str) -> list:
        return [row for _, row in sorted((x for p in parts for x in p[kind][month]), key=lambda x: x[0])]

    rows_written = 0
    for month in months:
        court = out / "court" / month
        court.mkdir(parents=True, exist_ok=True)
        for kind, name in (("enforcement", "enforcement_cases.jsonl"), ("liangfei", "liangfei_cases.jsonl")):
            lines = merged(kind, month)
            (court / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
            rows_written += len(lines)
        fin = out / "finance" / month
        fin.mkdir(parents=True, exist_ok=True)
        for kind, name, header in (
            ("decisions", "fee_decisions.csv", DECISION_HEADER),
            ("payments", "fee_payments.csv", PAYMENT_HEADER),
        ):
            rows = merged(kind, month)
            (fin / name).write_bytes(_csv_text(header, rows).encode("utf-8-sig"))
            rows_written += len(rows)
    return rows_written


# ---------------------------------------------------------------------------- generation


@dataclass
class Generation:
    """What ``generate`` wrote: the districts (reference data only), data rows, files and seconds."""

    districts: list[District]
    months: list[str]
    rows: int = 0
    files: int = 0
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.districts)


def district_profile(seed: int, index: int, years: tuple[int, ...], vary: bool) -> Profile:
    return varied(seed, index, years) if vary else GOLDEN


def _district_job(job: tuple) -> tuple[District, dict, int, int]:
    """Plan one district and write its township and hospital files (runs in a worker process)."""
    out, seed, index, code, years, vary = job
    profile = district_profile(seed, index, years, vary)
    planner = Planner(code, index, seed, profile)
    d = planner.plan()
    months = planner.months
    # the first district draws its writer's randomness as the single-district generator always has
    rng = random.Random(f"{seed}-writer" if index == 0 else f"{seed}-writer-{code}")
    names: dict[str, str] = {}
    for number in sorted(planner.used_ids):  # every identity number gets one stable name
        names[number] = planner.name()
    for r in d.registrations:
        names[r.mother_id] = r.mother_name
    # xlsxwriter's compression where the report's districts are written, a faster one elsewhere
    rows = write_township_workbooks(out, d, months, rng, 1 if vary else zlib.Z_DEFAULT_COMPRESSION)
    rows += write_hospital(out, d, months, names)
    files = len(months) * (len(d.townships) + 2 * len(d.hospitals))
    parts = court_and_finance_rows(d, months, rng, names)
    reference = District(d.code, d.index, d.court_abbr, d.townships, d.villages, d.hospitals, d.stations)
    for v in reference.villages:
        v.pop, v.women, v.deaths = [], [], []
    return reference, parts, rows, files


def generate(
    out: Path,
    seed: int = 2012,
    districts: int = 1,
    years: int | None = None,
    start_year: int | None = None,
    workers: int | None = None,
    vary: bool | None = None,
) -> Generation:
    """Write a landing zone of ``districts`` districts and ``years`` years from ``start_year`` into ``out``.

    The defaults (the profile's two years) give districts that each reproduce the founding report;
    other years, or ``vary=True``, give districts that differ (:func:`~dagster_project.synth.profile.varied`).
    Districts are planned and written by up to ``workers`` processes (default: the cores); the files
    do not depend on how many.
    """
    started = time.perf_counter()
    if not 1 <= districts <= len(DISTRICT_CODES):
        raise ValueError(f"--districts must be between 1 and {len(DISTRICT_CODES)}")
    n_years = len(GOLDEN.years) if years is None else years
    first = GOLDEN.years[0] if start_year is None else start_year
    if not 1 <= n_years <= 50 or not 1900 <= first <= 2100:
        raise ValueError("--years must be between 1 and 50 and --start-year a year like 2012")
    span = tuple(range(first, first + n_years))
    if vary is None:
        vary = span != GOLDEN.years
    elif not vary and span != GOLDEN.years:
        raise ValueError(f"the founding report's profile covers {GOLDEN.years[0]}-{GOLDEN.years[-1]} only")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(out, seed, i, code, span, vary) for i, code in enumerate(DISTRICT_CODES[:districts])]
    workers = max(1, min(workers or os.cpu_count() or 1, districts))
    _static_parts()  # once, before the workers start
    if workers == 1:
        results = [_district_job(job) for job in jobs]
    else:
        # the largest districts first, so that no worker is left with a big one at the end
        size = {i: sum(district_profile(seed, i, span, vary).village_counts) for i in range(districts)}
        context = multiprocessing.get_context("fork") if os.name == "posix" else None
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {i: pool.submit(_district_job, jobs[i]) for i in sorted(size, key=lambda i: -size[i])}
            results = [futures[i].result() for i in range(districts)]
    planned = [r[0] for r in results]
    months = [f"{y}-{m:02d}" for y in span for m in range(1, 13)]
    write_reference(out, planned)
    rows = sum(r[2] for r in results)
    rows += write_court_and_finance(out, [r[1] for r in results], months)
    files = sum(r[3] for r in results) + 4 * len(months)  # delivered files (reference/ aside)
    return Generation(planned, months, rows, files, time.perf_counter() - started)


def GOLDEN_PROFILE():  # noqa: N802 - a factory kept beside generate() for the CLI's --profile later
    return GOLDEN
