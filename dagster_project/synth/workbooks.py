"""The township's files: one workbook per township and month, its sheets in any order."""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from dagster_project.schemas.contract import (
    TOWNSHIP_BIRTHS,
    TOWNSHIP_POPULATION,
    TOWNSHIP_VILLAGE_CLASSES,
    VILLAGE_NAME,
    file_name,
    headers,
)
from dagster_project.synth.extracts import write_file
from dagster_project.synth.model import District, Registration, Village, month_of
from dagster_project.synth.xlsx import EXCEL_EPOCH, Sheet, Workbook

BIRTH_SHEET = TOWNSHIP_BIRTHS.sheet
POPULATION_SHEET = TOWNSHIP_POPULATION.sheet
CLASS_SHEET = TOWNSHIP_VILLAGE_CLASSES.sheet
NOTES_SHEET = "填表说明"  # the township's filling-in notes: a sheet no extract reads
# the columns as delivered: the contract's, and beside the village's code its name (never read), beside
# the mother's its personal name (only fingerprinted)
BIRTH_HEADER = tuple(headers(TOWNSHIP_BIRTHS, {"village_code": TOWNSHIP_BIRTHS.name_sources[0]}))
POPULATION_HEADER = tuple(headers(TOWNSHIP_POPULATION, {"village_code": VILLAGE_NAME}))
CLASS_HEADER = tuple(headers(TOWNSHIP_VILLAGE_CLASSES, {"village_code": VILLAGE_NAME}))
HEADER_ROW = 2  # under the title and a blank row


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
        folder = out / TOWNSHIP_BIRTHS.agency / month
        folder.mkdir(parents=True, exist_ok=True)
        for tcode, _, _ in d.townships:
            wb = Workbook(dt.datetime(y, m, 28, 9, 0, 0), level)  # byte-identical output per seed
            sheets = [BIRTH_SHEET, POPULATION_SHEET] + ([CLASS_SHEET] if classes.get((tcode, month)) else [])
            if random_() < 0.15:
                sheets.append(NOTES_SHEET)
            rng.shuffle(sheets)
            for sheet in sheets:
                ws = wb.add_worksheet(sheet)
                if sheet == NOTES_SHEET:
                    ws.write_row(0, ("本表由乡镇计生办于次月5日前报送。",))
                    continue
                ws.write_row(0, (f"{tname[tcode]}{y}年{m}月{sheet}表",))
                if sheet == BIRTH_SHEET:
                    items = sorted(regs.get((tcode, month), []), key=lambda r: r.rid)
                    rows_written += _births(wb, ws, items, random_)
                elif sheet == POPULATION_SHEET:
                    rows_written += _population(wb, ws, villages_of[tcode], mi)
                else:
                    rows_written += _classes(ws, classes[(tcode, month)], vname)
            write_file(folder / file_name(TOWNSHIP_BIRTHS, tcode), wb.bytes())
    return rows_written


def _births(wb: Workbook, ws: Sheet, items: list[Registration], random_: Callable[[], float]) -> int:
    """The 出生登记 sheet's header, registrations (dates in any of the township's forms) and 合计 row.

    The cells are written here rather than by :meth:`Sheet.write_row` (the inner loop of the generator):
    a string's index, ``strings.setdefault(text, len(strings))``, is ``sst()`` without its count, which
    is added per row.
    """
    row = HEADER_ROW
    ws.write_row(row, BIRTH_HEADER)
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
                dates.append(f'<c r="{col}{n}" s="1"><v>{value.toordinal() - EXCEL_EPOCH}</v></c>')
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
    return len(items)


def _population(wb: Workbook, ws: Sheet, vs: list[Village], mi: int) -> int:
    """The 人口变动 sheet: each village's month-end figures of month ``mi``, then their 合计 row."""
    ws.write_row(HEADER_ROW, POPULATION_HEADER)
    strings = wb.strings
    sd = strings.setdefault
    wb.count += 2 * len(vs)
    # the code's string and then the name's, as in sst() order (cells written as in _births)
    ws.rows.extend(
        (
            row,
            0,
            4,
            f'<c r="A{row + 1}" t="s"><v>{sd(v.code, len(strings))}</v></c>'
            f'<c r="B{row + 1}" t="s"><v>{sd(v.name, len(strings))}</v></c>'
            f'<c r="C{row + 1}"><v>{v.pop[mi + 1]}</v></c><c r="D{row + 1}"><v>{v.deaths[mi]}</v></c>'
            f'<c r="E{row + 1}"><v>{v.women[mi + 1]}</v></c>',
        )
        for row, v in enumerate(vs, HEADER_ROW + 1)
    )
    totals = (sum(v.pop[mi + 1] for v in vs), sum(v.deaths[mi] for v in vs), sum(v.women[mi + 1] for v in vs))
    ws.write_row(HEADER_ROW + len(vs) + 1, ("合计", "", *totals))
    return len(vs)


def _classes(ws: Sheet, rows: list[dict], vname: dict[str, str]) -> int:
    """The 村居分类 sheet: the classes the township reports in the month."""
    ws.write_row(HEADER_ROW, CLASS_HEADER)
    for row, c in enumerate(rows, HEADER_ROW + 1):
        ws.write_row(row, (c["village_code"], vname[c["village_code"]], c["year"], c["class"]))
    return len(rows)
